package auth

import (
	"context"
	"net/http"
	"strconv"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/spreadsheet"
)

// Routes serves identity:
//
//	POST   /v1/auth/login                                   operator login
//	POST   /v1/tenants/{code}/auth/login                    account login
//	POST   /v1/auth/refresh                                 new tokens for a refresh token
//	POST   /v1/auth/logout                                  end this session
//	GET    /v1/auth/me                                      who the token is
//	POST   /v1/auth/password                                change one's password
//	GET, POST /v1/auth/tokens, DELETE /v1/auth/tokens/{id}  one's API tokens
//	POST   /v1/tenants/{code}/credentials?format=xlsx|csv|json  issue initial passwords, as a sheet
//	POST   /v1/tenants/{code}/credentials/reissue?format=…     new passwords for named accounts or a unit
//	POST   /v1/tenants/{code}/accounts/{id}/password-reset  a new password for an account
//	POST   /v1/operators, /v1/operators/{id}/password-reset provincial operators
func (s *Service) Routes(opts ...httptransport.ServerOption) []kit.Route {
	ok := kit.EncodeJSON(http.StatusOK)
	route := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		return kit.Route{Method: method, Pattern: pattern, Name: name, Handler: kit.NewServer(s.guard.For(name), e, dec, enc, opts...)}
	}
	// The answers of a secret route carry tokens or passwords.
	secret := func(method, pattern, name string, e endpoint.Endpoint, dec httptransport.DecodeRequestFunc, enc httptransport.EncodeResponseFunc) kit.Route {
		r := route(method, pattern, name, e, dec, enc)
		r.Secret = true
		return r
	}
	return []kit.Route{
		secret("POST", "/v1/auth/login", "auth.operator.login", func(ctx context.Context, req any) (any, error) {
			return s.Login(ctx, "", req.(Credentials), kit.SourceAddr(ctx))
		}, body[Credentials], ok),
		secret("POST", "/v1/tenants/{code}/auth/login", "auth.account.login", func(ctx context.Context, req any) (any, error) {
			return s.Login(ctx, PathTenant(ctx), req.(Credentials), kit.SourceAddr(ctx))
		}, body[Credentials], ok),
		secret("POST", "/v1/auth/refresh", "auth.refresh", func(ctx context.Context, req any) (any, error) {
			return s.Refresh(ctx, req.(refreshRequest).RefreshToken)
		}, body[refreshRequest], ok),
		route("POST", "/v1/auth/logout", "auth.logout", func(ctx context.Context, _ any) (any, error) {
			return struct{}{}, s.Logout(ctx, PrincipalFrom(ctx))
		}, none, ok),
		route("GET", "/v1/auth/me", "auth.me", func(ctx context.Context, _ any) (any, error) {
			return PrincipalFrom(ctx), nil
		}, none, ok),
		secret("POST", "/v1/auth/password", "auth.password.change", func(ctx context.Context, req any) (any, error) {
			return s.ChangePassword(ctx, PrincipalFrom(ctx), req.(PasswordChange))
		}, body[PasswordChange], ok),
		route("GET", "/v1/auth/tokens", "auth.tokens.list", func(ctx context.Context, _ any) (any, error) {
			return s.tokens.List(ctx, PrincipalFrom(ctx))
		}, none, ok),
		secret("POST", "/v1/auth/tokens", "auth.tokens.create", func(ctx context.Context, req any) (any, error) {
			return s.CreateToken(ctx, PrincipalFrom(ctx), req.(TokenRequest))
		}, body[TokenRequest], kit.EncodeJSON(http.StatusCreated)),
		route("DELETE", "/v1/auth/tokens/{id}", "auth.tokens.revoke", func(ctx context.Context, req any) (any, error) {
			return struct{}{}, s.RevokeToken(ctx, PrincipalFrom(ctx), req.(int64))
		}, pathID, ok),
		secret("POST", "/v1/tenants/{code}/credentials", "auth.credentials", func(ctx context.Context, req any) (any, error) {
			r := req.(sheetRequest[IssueRequest])
			issued, err := s.IssueCredentials(ctx, PathTenant(ctx), r.body)
			return sheet{format: r.format, rows: issued}, err
		}, decodeSheetRequest[IssueRequest], encodeSheet),
		secret("POST", "/v1/tenants/{code}/credentials/reissue", "auth.credentials.reissue", func(ctx context.Context, req any) (any, error) {
			r := req.(sheetRequest[ReissueRequest])
			issued, err := s.ReissueCredentials(ctx, PathTenant(ctx), r.body)
			return sheet{format: r.format, rows: issued}, err
		}, decodeSheetRequest[ReissueRequest], encodeSheet),
		secret("POST", "/v1/tenants/{code}/accounts/{id}/password-reset", "auth.password.reset", func(ctx context.Context, req any) (any, error) {
			return s.ResetPassword(ctx, PathTenant(ctx), req.(int64))
		}, pathID, ok),
		secret("POST", "/v1/operators", "auth.operators.add", func(ctx context.Context, req any) (any, error) {
			return s.AddOperator(ctx, req.(OperatorInput))
		}, body[OperatorInput], kit.EncodeJSON(http.StatusCreated)),
		secret("POST", "/v1/operators/{id}/password-reset", "auth.operators.reset", func(ctx context.Context, req any) (any, error) {
			return s.ResetPassword(ctx, "", req.(int64))
		}, pathID, ok),
	}
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func body[T any](_ context.Context, r *http.Request) (any, error) {
	var v T
	if err := kit.DecodeJSON(r, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func none(context.Context, *http.Request) (any, error) { return nil, nil }

func pathID(_ context.Context, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.NotFound(errs.CodeNotFound, "no such id %q", r.PathValue("id"))
	}
	return id, nil
}

// sheetRequest asks for a credential sheet in a format.
type sheetRequest[T any] struct {
	body   T
	format string
}

func decodeSheetRequest[T any](ctx context.Context, r *http.Request) (any, error) {
	req := sheetRequest[T]{format: r.URL.Query().Get("format")}
	switch req.format {
	case "":
		req.format = "xlsx"
	case "xlsx", "csv", "json":
	default:
		return nil, errs.Invalid("invalid_format", "format is xlsx, csv or json")
	}
	if r.ContentLength != 0 {
		v, err := body[T](ctx, r)
		if err != nil {
			return nil, err
		}
		req.body = v.(T)
	}
	return req, nil
}

// sheet is the credential sheet in the format asked for.
type sheet struct {
	format string
	rows   []IssuedCredential
}

// sheetHeader is the credential sheet's header, in the language of those
// it is handed to.
var sheetHeader = []string{"单位", "姓名", "登录名", "初始密码"}

func encodeSheet(ctx context.Context, w http.ResponseWriter, response any) error {
	sh := response.(sheet)
	rows := [][]string{sheetHeader}
	for _, c := range sh.rows {
		rows = append(rows, []string{c.Unit, c.Name, c.Login, c.Password})
	}
	var contentType string
	var data []byte
	var err error
	switch sh.format {
	case "json":
		return kit.EncodeJSON(http.StatusOK)(ctx, w, sh.rows)
	case "csv":
		contentType = "text/csv; charset=utf-8"
		data, err = spreadsheet.CSV(rows)
	default:
		contentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		data, err = spreadsheet.XLSX(spreadsheet.Sheet{Name: "初始密码", Rows: rows})
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="credentials.`+sh.format+`"`)
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(data)
	return err
}
