package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/tenants/seals"
)

// sealStatus is a seal's status as people read it, Chinese first.
var sealStatus = map[string]string{
	seals.StatusInUse:      "在用 in use",
	seals.StatusSuperseded: "已替换 superseded",
	seals.StatusRevoked:    "已吊销 revoked",
}

// fileStatus is a verified file's state as people read it, Chinese first.
var fileStatus = map[string]string{
	seals.FileIntact:    "完好 intact",
	seals.FileChanged:   "已改动 changed",
	seals.FileMissing:   "缺失 missing",
	seals.FileNotSealed: "未盖章 not sealed",
}

func newSealsCmd(e env) *cobra.Command {
	o := &orgCmd{e: e}
	cmd := &cobra.Command{
		Use:   "seals",
		Short: "Keep units' electronic seals (电子印章) and verify sealed documents",
		Long: `Keep the electronic seals of one county's units (--tenant or COUNTYCLOUD_TENANT):
each an SM2 key pair the server keeps, its private key encrypted under the
server's --seal-key and never shown. A county admin creates a unit's seal,
rotates it (a new key; documents sealed with the old one still verify) and
revokes it. Modules seal documents through the server.

'countycloud seals verify' checks a sealed document for anyone, without a
token: which unit sealed it and when, whether any file changed since, and
whether the seal was revoked.`,
	}
	o.opts.register(cmd)
	o.countyFlag(cmd.PersistentFlags())

	var unit int64
	list := &cobra.Command{
		Use:     "list [--unit ID]",
		Short:   "List the county's seals, newest first",
		Example: "  countycloud seals list --tenant gd.shaoguan.wengyuan --unit 3",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var query url.Values
			if unit != 0 {
				query = url.Values{"unit": {strconv.FormatInt(unit, 10)}}
			}
			var views []seals.View
			return o.call(cmd, http.MethodGet, "/seals", query, nil, &views, func() error { return o.printSeals(views...) })
		},
	}
	list.Flags().Int64Var(&unit, "unit", 0, "only this unit's seals (its id, as org units list shows it)")

	var createUnit int64
	create := &cobra.Command{
		Use:     "create --unit ID",
		Short:   "Give a unit its seal: a new SM2 key pair kept by the server",
		Example: "  countycloud seals create --unit 3",
		Args:    exactArgs(0, "no arguments; name the unit with --unit"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if createUnit <= 0 {
				return usageError("name the unit: --unit ID (org units list shows the ids)")
			}
			var v seals.View
			return o.call(cmd, http.MethodPost, "/seals", nil, seals.CreateRequest{UnitID: createUnit}, &v, func() error { return o.printSeals(v) })
		},
	}
	create.Flags().Int64Var(&createUnit, "unit", 0, "the unit's id")

	rotate := &cobra.Command{
		Use:   "rotate SEAL_ID",
		Short: "Give the seal's unit a new key; the old seal is kept to verify what it sealed",
		Long: `Give the seal's unit a new SM2 key pair. The old seal is marked superseded:
documents it sealed still verify, and it seals nothing more.`,
		Example: "  countycloud seals rotate 7",
		Args:    exactArgs(1, "the seal's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			var v seals.View
			return o.call(cmd, http.MethodPost, "/seals/"+id+"/rotate", nil, nil, &v, func() error { return o.printSeals(v) })
		},
	}

	var reason string
	revoke := &cobra.Command{
		Use:     "revoke SEAL_ID --reason TEXT",
		Short:   "Revoke a seal: it seals no more, and verification says since when it is revoked",
		Example: `  countycloud seals revoke 7 --reason 印章管理员离职`,
		Args:    exactArgs(1, "the seal's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := idArg(args)
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usageError("say why: --reason TEXT (吊销原因)")
			}
			var v seals.View
			return o.call(cmd, http.MethodPost, "/seals/"+id+"/revoke", nil, seals.RevokeRequest{Reason: reason}, &v, func() error { return o.printSeals(v) })
		},
	}
	revoke.Flags().StringVar(&reason, "reason", "", "why the seal is revoked; anyone verifying a document it sealed is shown it")

	cmd.AddCommand(list, create, rotate, revoke, o.verifyCmd())
	return cmd
}

func (o *orgCmd) verifyCmd() *cobra.Command {
	var sealFile string
	cmd := &cobra.Command{
		Use:   "verify FILES... --seal SEAL.json",
		Short: "Verify a sealed document: intact or not, which unit sealed it, when, and whether its seal was revoked",
		Long: `Verify a sealed document, as anyone may, without a token: the SM3 digest of
each file is computed here and sent with the seal (the files themselves are not
sent). Files are matched to the seal by their base names. Exits 0 only when the
document is intact and its seal was not revoked; otherwise the answer says which
file changed, is missing or was not sealed, and since when the seal is revoked.`,
		Example: "  countycloud seals verify 正文.pdf 附件1.docx --seal 正文.seal.json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError("name the document's files; see '%s --help'", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if sealFile == "" {
				return usageError("name the seal: --seal SEAL.json")
			}
			raw, err := os.ReadFile(sealFile)
			if err != nil {
				return usageError("--seal: %v", err)
			}
			files := make([]seals.File, len(args))
			for i, path := range args {
				if files[i], err = digestFile(path); err != nil {
					return usageError("%v", err)
				}
			}
			c, err := o.opts.anonymousClient(o.e)
			if err != nil {
				return err
			}
			var verdict seals.Verdict
			if err := c.do(cmd.Context(), http.MethodPost, seals.VerifyPath, nil, seals.VerifyRequest{Seal: json.RawMessage(raw), Files: files}, &verdict); err != nil {
				return err
			}
			if o.opts.output == "json" {
				err = printJSON(o.e.stdout, verdict)
			} else {
				err = printVerdict(o, verdict)
			}
			if err == nil && !verdict.Valid {
				err = &exitError{code: exitFailed, err: errors.New(verdictLine(verdict))}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&sealFile, "seal", "", "the seal's JSON, as the module kept it with the document")
	return cmd
}

// digestFile is path's base name and SM3 digest.
func digestFile(path string) (seals.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return seals.File{}, err
	}
	defer f.Close()
	digest, err := seals.Digest(f)
	if err != nil {
		return seals.File{}, fmt.Errorf("read %s: %w", path, err)
	}
	return seals.File{Name: filepath.Base(path), SM3: digest}, nil
}

func printVerdict(o *orgCmd, v seals.Verdict) error {
	rows := make([][]string, len(v.Files))
	for i, f := range v.Files {
		rows[i] = []string{f.Name, fileStatus[f.Status]}
	}
	if err := printTable(o.e.stdout, []string{"FILE", "STATUS"}, rows); err != nil {
		return err
	}
	fields := [][2]string{
		{"result", verdictLine(v)},
		{"county", v.County},
		{"unit", fmt.Sprintf("%s (%d)", v.UnitName, v.UnitID)},
		{"seal", fmt.Sprintf("%d, %s", v.SealID, sealStatus[v.Status])},
		{"sealed at", v.SealedAt.Format(time.RFC3339)},
	}
	if v.RevokedAt != nil {
		fields = append(fields, [2]string{"revoked at", v.RevokedAt.Format(time.RFC3339) + " " + v.RevokeReason})
	}
	for _, p := range v.Problems {
		fields = append(fields, [2]string{"problem", p})
	}
	return printFields(o.e.stdout, fields)
}

// verdictLine sums a verdict up, Chinese first.
func verdictLine(v seals.Verdict) string {
	switch {
	case v.Valid:
		return "有效：文件完好，印章在用或已替换 (valid: intact, sealed by the unit named)"
	case !v.SignatureValid:
		return "无效：印章签名不符 (invalid: the seal's signature does not match it)"
	case !v.Intact:
		return "无效：文件与盖章时不同 (invalid: the document changed since it was sealed)"
	default:
		return "印章已吊销：文件完好，但印章已于 " + v.RevokedAt.Format(time.RFC3339) + " 吊销 (revoked: intact, but the seal was revoked since then)"
	}
}

func (o *orgCmd) printSeals(views ...seals.View) error {
	rows := make([][]string, len(views))
	for i, v := range views {
		since := v.CreatedAt.Format(time.RFC3339)
		switch {
		case v.RevokedAt != nil:
			since = v.RevokedAt.Format(time.RFC3339)
		case v.SupersededAt != nil:
			since = v.SupersededAt.Format(time.RFC3339)
		}
		rows[i] = []string{strconv.FormatInt(v.ID, 10), fmt.Sprintf("%s (%d)", v.UnitName, v.UnitID), sealStatus[v.Status], since, v.PublicKey[:16] + "…"}
	}
	return printTable(o.e.stdout, []string{"ID", "UNIT", "STATUS", "SINCE", "PUBLIC KEY"}, rows)
}
