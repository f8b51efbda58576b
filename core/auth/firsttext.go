package auth

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/store"
)

// Texter opens tenant's SMS gateway for texts sent at once and kept
// nowhere (notify.Service.Texting), or says why none can go (no
// gateway); key names a message to the gateway.
type Texter interface {
	Texting(ctx context.Context, tenant string) (func(ctx context.Context, key, mobile, text string) error, error)
}

// TextedPasswords is what TextFirstPasswords did.
type TextedPasswords struct {
	// Texted accounts have a first password, sent to their mobile.
	Texted int `json:"texted"`
	// NoMobile accounts have no mobile to text: they are left for the
	// credential sheet.
	NoMobile int `json:"no_mobile"`
	// Failed accounts' texts did not go out: they keep no password, and
	// the next run texts them again.
	Failed int `json:"failed"`
	// Problem is why the first failed text failed.
	Problem string `json:"problem,omitempty"`
}

// firstPasswordText is the SMS: the holder's login and first password,
// which must be changed at first login.
const firstPasswordText = "您的县域政务云账号 %s 的初始口令是 %s，首次登录后须修改。请勿告诉他人。"

// TextFirstPasswords gives each active account of tenant that has a
// mobile and no password yet a random first password, which must be
// changed at first login, and texts it to that mobile. It is the
// rollout's automatic handing out of credentials: the password exists
// only in the SMS, never in a sheet or the outbox. An account's password
// is set only if its text went out (its transaction commits after the
// gateway accepted it), so that no account holds a password nobody was
// told; a text that failed is tried again by the next run. Accounts
// without a mobile stay for the credential sheet.
func (s *Service) TextFirstPasswords(ctx context.Context, tenant string, texter Texter) (TextedPasswords, error) {
	var done TextedPasswords
	err := s.dir.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		var due []struct {
			IssuedCredential
			Mobile *string `db:"mobile"`
		}
		if err := conn.SelectContext(ctx, &due, `SELECT a.id, a.login, a.name, a.unit_id, u.name AS unit, a.mobile FROM accounts a JOIN units u ON u.id = a.unit_id
			LEFT JOIN credentials c ON c.account_id = a.id WHERE a.status = 'active' AND c.account_id IS NULL ORDER BY a.id`); err != nil {
			return fmt.Errorf("accounts without a password: %w", err)
		}
		var creds []IssuedCredential
		var mobiles []string
		for _, d := range due {
			if d.Mobile == nil || *d.Mobile == "" {
				done.NoMobile++
				continue
			}
			creds = append(creds, d.IssuedCredential)
			mobiles = append(mobiles, *d.Mobile)
		}
		if len(creds) == 0 {
			return nil
		}
		text, err := texter.Texting(ctx, tenant)
		if err != nil {
			done.Failed, done.Problem = len(creds), err.Error()
			return nil
		}
		hashes := s.hashAll(creds)
		for i, c := range creds {
			textErr, err := s.textOne(ctx, conn, tenant, c, hashes[i], mobiles[i], text)
			switch {
			case err != nil:
				return err
			case textErr == nil:
				done.Texted++
			default:
				done.Failed++
				if done.Problem == "" {
					done.Problem = textErr.Error()
				}
			}
		}
		return nil
	})
	return done, err
}

// textOne sets c's first password and texts it, committing only once the
// gateway took the text. textErr is why the text failed, which changed
// nothing.
func (s *Service) textOne(ctx context.Context, conn *sqlx.Conn, tenant string, c IssuedCredential, hash, mobile string, text func(ctx context.Context, key, mobile, text string) error) (textErr, err error) {
	err = store.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
		id := strconv.FormatInt(c.AccountID, 10)
		if err := setPassword(ctx, tx, tenant, c.AccountID, hash, true); err != nil {
			return err
		}
		if err := RenewSecurity(ctx, tx, c.AccountID); err != nil {
			return err
		}
		if err := audit.Write(ctx, tx, audit.New(ctx, "auth.credentials.texted", "account", id, nil, nil)); err != nil {
			return err
		}
		// Each password is its own message to the gateway.
		textErr = text(ctx, "first-password/"+tenant+"/"+id+"/"+rand.Text()[:10], mobile, fmt.Sprintf(firstPasswordText, c.Login, c.Password))
		return textErr
	})
	if textErr != nil {
		return textErr, nil
	}
	if err != nil {
		return nil, err
	}
	s.SecurityRenewed(tenant, c.AccountID)
	return nil, nil
}
