package host

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Limits of public downloads: a URL that anyone holding it may use lives
// minutes, long enough to start a download and not to be passed around;
// an address is given as many an hour as a person reading their own
// files or a county's published pages asks for, not a crawler's.
const (
	// MaxPublicDownloadsPerHour bounds the URLs one address (an IPv6
	// address's /64, as the public routes' rate) is given in a county in
	// an hour, over all its modules.
	MaxPublicDownloadsPerHour = 120
	publicDownloadWindow      = time.Hour
	defaultPublicDownloadTTL  = 5 * time.Minute
	maxPublicDownloadTTL      = 15 * time.Minute
)

// PublicDownloadAuditAction is the action of the audit entry of each URL
// a public route's anonymous caller is given: the actor anonymous, the
// source the caller's address, the object the module's file.
const PublicDownloadAuditAction = "module.public_download"

// publicDownloads serves PublicDownloads (downloads.proto): URLs to a
// module's files for a public route's anonymous caller, whom the module
// has found may read them.
type publicDownloads struct {
	*files
}

func (s *publicDownloads) PublicDownloadURL(ctx context.Context, req *pluginv1.PublicDownloadURLRequest) (*pluginv1.SignedURL, error) {
	if err := s.available(); err != nil {
		return nil, err
	}
	ttl, err := urlTTL(req.GetTtlSeconds(), defaultPublicDownloadTTL, maxPublicDownloadTTL)
	if err != nil {
		return nil, err
	}
	c, err := s.capability(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if c.Caller.Kind != CallerAnonymous {
		return nil, status.Error(codes.PermissionDenied, "public downloads are a public route's anonymous caller's; an account's is Host.DownloadURL")
	}
	if _, err := s.blobKey(c.County, req.GetFileId()); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	source, network := downloadSource(c.Address), clip(limitKey(c.Address), maxSource)
	err = s.router.InTenantTx(ctx, c.County, func(ctx context.Context, tx *sqlx.Tx) error {
		f, err := readFile(ctx, tx, s.plugin, req.GetFileId(), false)
		if err != nil {
			return notFound(err, req.GetFileId())
		}
		if f.Status != fileReady {
			return status.Errorf(codes.FailedPrecondition, "file %s is %s: its bytes have not arrived", f.ID, f.Status)
		}
		// Counted over every module of the county: the URLs given are
		// what an address has taken, whichever module it asked.
		var recent int
		err = tx.GetContext(ctx, &recent, "SELECT COUNT(*) FROM public_downloads WHERE network = ? AND given_at > ?", network, now.Add(-publicDownloadWindow))
		if err != nil {
			return fmt.Errorf("count an address's downloads: %w", err)
		}
		if recent >= MaxPublicDownloadsPerHour {
			return status.Errorf(codes.ResourceExhausted, "your address was given %d files to download in the last hour, the most it may", recent)
		}
		if err := store.Later(ctx, tx, "INSERT INTO public_downloads (network, given_at) VALUES (?, ?)", network, now); err != nil {
			return fmt.Errorf("count a download: %w", err)
		}
		// A few of the rows past the window go with each one written, so
		// that the table holds about an hour of downloads.
		if err := store.Later(ctx, tx, "DELETE FROM public_downloads WHERE given_at <= ? ORDER BY given_at LIMIT ?", now.Add(-publicDownloadWindow), prunedPerDownload); err != nil {
			return fmt.Errorf("prune downloads: %w", err)
		}
		return audit.Write(ctx, tx, audit.Entry{At: now, ActorKind: CallerAnonymous, ActorLogin: CallerAnonymous, Action: PublicDownloadAuditAction,
			ObjectType: "file", ObjectID: clip(s.plugin+":"+f.ID, maxAuditObjectID), Outcome: audit.OK, RequestID: clip(c.Request, maxRequestID), Source: source})
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	url, expires := s.url(c.County, req.GetFileId(), opDownload, s.now().Add(ttl))
	return &pluginv1.SignedURL{Url: url, ExpiresAt: expires}, nil
}

// maxAuditObjectID is the width of the trail's object_id.
const maxAuditObjectID = 64

// prunedPerDownload bounds the rows past the window that one download
// deletes: more than the one it adds, so that a backlog drains.
const prunedPerDownload = 16

// downloadSource is how a public download's entry in the trail names
// address: an IPv4 address as itself (also written as IPv6), an IPv6
// address written out in full.
func downloadSource(address string) string {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return clip(address, maxSource)
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return a.StringExpanded()
}

// maxSource is the width of the trail's source column.
const maxSource = 64
