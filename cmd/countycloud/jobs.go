package main

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/jobs"
)

func newJobsCmd(e env) *cobra.Command {
	var opts clientOptions
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "See the background jobs and retry dead ones",
		Long: `See the platform's background jobs, which the workers of every replica share
(today the daily signing-key rotation and clean-up). A job that failed all its
attempts is dead until an operator retries it.`,
	}
	opts.register(cmd)
	cmd.AddCommand(newJobsListCmd(e, &opts), newJobsRetryCmd(e, &opts))
	return cmd
}

func newJobsListCmd(e env, opts *clientOptions) *cobra.Command {
	var status, kind, tenant string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--status queued|running|done|dead] [--kind KIND] [--tenant CODE]",
		Short: "List jobs, newest first",
		Example: `  countycloud jobs list --status dead
  countycloud jobs list --kind auth.rotate-keys -o json`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := opts.client(e)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"status": status, "kind": kind, "tenant": tenant} {
				if v != "" {
					q.Set(k, v)
				}
			}
			q.Set("limit", strconv.Itoa(limit))
			var list []jobs.Job
			if err := c.do(cmd.Context(), http.MethodGet, "/v1/jobs", q, nil, &list); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(e.stdout, list)
			}
			rows := make([][]string, len(list))
			for i, j := range list {
				lastError := ""
				if j.LastError != nil {
					lastError = *j.LastError
				}
				rows[i] = []string{strconv.FormatInt(j.ID, 10), j.Kind, optional(j.Tenant), string(j.Status),
					strconv.Itoa(j.Attempts) + "/" + strconv.Itoa(j.MaxAttempts), j.RunAt.Local().Format("2006-01-02 15:04:05"), lastError}
			}
			return printTable(e.stdout, []string{"ID", "KIND", "TENANT", "STATUS", "ATTEMPTS", "DUE", "LAST ERROR"}, rows)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only jobs in this status: queued, running, done, dead")
	cmd.Flags().StringVar(&kind, "kind", "", "only jobs of one kind, such as notify.drain, supervision.sweep or auth.rotate-keys")
	cmd.Flags().StringVar(&tenant, "tenant", "", "only jobs working for this county")
	cmd.Flags().IntVar(&limit, "limit", 100, "list at most this many (1 to 500)")
	return cmd
}

func newJobsRetryCmd(e env, opts *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "retry ID",
		Short:   "Give a dead job its attempts back and run it now",
		Example: "  countycloud jobs retry 42",
		Args:    exactArgs(1, "the job's id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError("job id %q is not a number", args[0])
			}
			c, err := opts.client(e)
			if err != nil {
				return err
			}
			var j jobs.Job
			if err := c.do(cmd.Context(), http.MethodPost, "/v1/jobs/"+args[0]+"/retry", nil, nil, &j); err != nil {
				return err
			}
			if opts.output == "json" {
				return printJSON(e.stdout, j)
			}
			return printTable(e.stdout, []string{"ID", "KIND", "STATUS"}, [][]string{{args[0], j.Kind, string(j.Status)}})
		},
	}
}
