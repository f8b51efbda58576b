package host

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/emmansun/gmsm/sm3"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// MaxSealedFiles bounds the files of one sealed document.
const MaxSealedFiles = 100

// SealFile is one file of a document to seal: its name and the hex SM3
// digest of its bytes.
type SealFile struct {
	Name string
	SM3  string
}

// Sealer signs a document of county for unit with the unit's seal in use
// (tenants/seals), returning the seal's JSON; its refusals are errs. It
// is called as the request's caller, whom its audit entry names.
type Sealer interface {
	Sign(ctx context.Context, county string, unit int64, files []SealFile) (json.RawMessage, error)
}

// seals is a plugin's Seals service: it digests the plugin's own files of
// the capability's county and has the Sealer sign them. No key reaches
// the plugin: it gets the seal, a signature anyone may verify.
type seals struct {
	guard
	router Router
	blobs  Blobs
	sealer Sealer
}

// Seal seals for a unit the request's account belongs to, or for any unit
// if it is a county admin (a county-wide role): a module seals what its
// caller may put the unit's seal on, as a person would ask the unit's
// seal keeper (印章管理员), not whatever the module names.
func (s *seals) Seal(ctx context.Context, req *pluginv1.SealDocumentRequest) (*pluginv1.SealDocumentResponse, error) {
	c, err := s.capability(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if s.sealer == nil || s.blobs == nil {
		return nil, status.Error(codes.Unavailable, "this host seals no documents: it keeps no seals or no files")
	}
	unit := req.GetUnitId()
	if c.Caller.Kind != string(auth.KindAccount) || (c.Caller.Unit != unit && !slices.Contains(c.Roles, auth.RoleCountyAdmin)) {
		return nil, status.Errorf(codes.PermissionDenied, "the request's caller may not seal for unit %d: only an account of that unit or a county admin may", unit)
	}
	ids := req.GetFileIds()
	if len(ids) == 0 || len(ids) > MaxSealedFiles {
		return nil, status.Errorf(codes.InvalidArgument, "a document has 1 to %d files, not %d", MaxSealedFiles, len(ids))
	}
	files := make([]SealFile, len(ids))
	names := map[string]bool{}
	for i, id := range ids {
		f, err := s.digest(ctx, c.County, id)
		if err != nil {
			return nil, err
		}
		if names[f.Name] {
			return nil, status.Errorf(codes.InvalidArgument, "two files of the document are named %q; a sealed document names each file once", f.Name)
		}
		names[f.Name] = true
		files[i] = f
	}
	ctx = audit.WithActor(kit.WithSource(kit.WithRequestID(ctx, c.Request), AuditSource(c.Plugin)), c.Caller)
	seal, err := s.sealer.Sign(ctx, c.County, unit, files)
	if err != nil {
		// A conflict is a unit with no seal in use: revoked, or none yet.
		return nil, s.refusal(ctx, err)
	}
	return &pluginv1.SealDocumentResponse{Seal: seal}, nil
}

// digest reads file of the plugin in county, which must be ready, and
// computes the SM3 digest of its bytes.
func (s *seals) digest(ctx context.Context, county, file string) (SealFile, error) {
	key, err := NewBlobKey(county, s.plugin, file)
	if err != nil {
		return SealFile{}, status.Errorf(codes.InvalidArgument, "file id %q is not one the host gave", file)
	}
	var f fileRow
	err = s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		f, err = readFile(ctx, conn, s.plugin, file, false)
		return notFound(err, file)
	})
	if err != nil {
		return SealFile{}, s.grpcError(ctx, err)
	}
	if f.Status != fileReady {
		return SealFile{}, status.Errorf(codes.FailedPrecondition, "file %s is %s: its bytes have not arrived", f.ID, f.Status)
	}
	r, err := s.blobs.Open(ctx, key)
	if err != nil {
		return SealFile{}, s.grpcError(ctx, fmt.Errorf("open file %s: %w", file, err))
	}
	defer r.Close()
	h := sm3.New()
	if _, err := io.Copy(h, r); err != nil {
		return SealFile{}, s.grpcError(ctx, fmt.Errorf("read file %s: %w", file, err))
	}
	return SealFile{Name: f.Name, SM3: hex.EncodeToString(h.Sum(nil))}, nil
}
