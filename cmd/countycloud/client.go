package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/countycloud/countycloud/core/config"
)

// clientOptions are the flags every API command shares. Only these are
// read from the environment: a COUNTYCLOUD_STATUS lying around must not
// quietly become a command's --status.
type clientOptions struct {
	addr    string
	token   string
	output  string
	timeout time.Duration
	flags   *pflag.FlagSet
}

func (o *clientOptions) register(cmd *cobra.Command) {
	o.flags = pflag.NewFlagSet("client", pflag.ContinueOnError)
	o.flags.StringVar(&o.addr, "addr", "http://127.0.0.1:8080", "address of the CountyCloud server (COUNTYCLOUD_ADDR)")
	o.flags.StringVar(&o.token, "token", "", "API token (COUNTYCLOUD_TOKEN)")
	o.flags.StringVarP(&o.output, "output", "o", "table", "output format: table or json (COUNTYCLOUD_OUTPUT)")
	o.flags.DurationVar(&o.timeout, "timeout", 2*time.Minute, "how long to wait for the server's answer (COUNTYCLOUD_TIMEOUT)")
	cmd.PersistentFlags().AddFlagSet(o.flags)
}

// client reads the environment for the shared flags not given and returns
// an API client, or a usage error.
func (o *clientOptions) client(e env) (*apiClient, error) {
	c, err := o.anonymousClient(e)
	if err != nil {
		return nil, err
	}
	if o.token == "" {
		return nil, usageError("no token: set COUNTYCLOUD_TOKEN (the server prints its bootstrap token on first start) or pass --token")
	}
	c.token = o.token
	return c, nil
}

// anonymousClient is client for the routes anyone may call (a login): it
// sends no token, whatever the environment holds.
func (o *clientOptions) anonymousClient(e env) (*apiClient, error) {
	if err := config.ApplyEnv(o.flags, e.lookup); err != nil {
		return nil, usageError("%v", err)
	}
	if o.output != "table" && o.output != "json" {
		return nil, usageError("--output %q: use table or json", o.output)
	}
	addr := o.addr
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	base, err := url.Parse(addr)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, usageError("--addr %q (COUNTYCLOUD_ADDR) is not an http(s) URL such as http://127.0.0.1:8080", o.addr)
	}
	return &apiClient{base: base, http: &http.Client{Timeout: o.timeout}}, nil
}

type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

// apiError is an error response of the server.
type apiError struct {
	Status  int
	Code    string
	Message string
	Details json.RawMessage
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Code) }

// do sends body as JSON and decodes a JSON response into out. Errors carry
// the exit code their kind deserves.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = b
	}
	data, err := c.send(ctx, method, path, query, "application/json", payload)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unexpected response from %s: %w", c.base, err)
	}
	return nil
}

// send sends a request with a body of contentType (none if payload is
// nil) and returns the response body.
func (c *apiClient) send(ctx context.Context, method, path string, query url.Values, contentType string, payload []byte) ([]byte, error) {
	u := c.base.JoinPath(path)
	u.RawQuery = query.Encode()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if payload != nil {
		req.Header.Set("Content-Type", contentType)
	}
	// Whether the request left decides what a failure means: before,
	// nothing happened and trying again is safe; after, the server may
	// have done it.
	var sent atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { sent.Store(true) },
	}))
	resp, err := c.http.Do(req)
	var netErr net.Error
	switch {
	case err != nil && sent.Load() && errors.As(err, &netErr) && netErr.Timeout():
		return nil, &exitError{code: exitUnknown, err: fmt.Errorf("no answer from %s within --timeout %s; the request was sent and may still complete on the server: look before repeating it", c.base, c.http.Timeout)}
	case err != nil && sent.Load():
		return nil, &exitError{code: exitUnknown, err: fmt.Errorf("the connection to %s broke after the request was sent, so whether it was done is unknown: look before repeating it (%w)", c.base, err)}
	case err != nil:
		return nil, &exitError{code: exitUnavailable, err: fmt.Errorf("cannot reach the server at %s; nothing was sent, try again: %w", c.base, err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, &exitError{code: exitUnknown, err: fmt.Errorf("the answer of %s (%s) broke off, so what was done is not known here: look before repeating it (%w)", c.base, resp.Status, err)}
	}
	if resp.StatusCode < 300 {
		return data, nil
	}
	var eb struct {
		Error struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
		eb.Error.Code, eb.Error.Message = "http_"+fmt.Sprint(resp.StatusCode), strings.TrimSpace(string(data))
	}
	code := exitFailed
	switch resp.StatusCode {
	case http.StatusNotFound:
		code = exitNotFound
	case http.StatusServiceUnavailable:
		code = exitUnavailable
	}
	return nil, &exitError{code: code, err: &apiError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message, Details: eb.Error.Details}}
}

// modulePages reads every page of a module's list at path: each page is
// {"<key>": [...], "next": "…"}, and the next is asked for with
// ?after=<next> until next is empty. Never nil, so that -o json prints [].
func modulePages[T any](ctx context.Context, c *apiClient, path string, q url.Values, key string) ([]T, error) {
	all := []T{}
	for {
		var page map[string]json.RawMessage
		if err := c.do(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			return nil, err
		}
		var rows []T
		var next string
		for member, into := range map[string]any{key: &rows, "next": &next} {
			if raw, ok := page[member]; ok {
				if err := json.Unmarshal(raw, into); err != nil {
					return nil, fmt.Errorf("read %s of %s: %w", member, path, err)
				}
			}
		}
		all = append(all, rows...)
		if next == "" {
			return all, nil
		}
		q.Set("after", next)
	}
}

// callPrinting sends a request with opts' client and prints its answer as
// JSON (-o json) or with table.
func callPrinting(cmd *cobra.Command, e env, opts *clientOptions, method, path string, query url.Values, body, out any, table func() error) error {
	c, err := opts.client(e)
	if err != nil {
		return err
	}
	if err := c.do(cmd.Context(), method, path, query, body, out); err != nil {
		return err
	}
	if opts.output == "json" {
		return printJSON(e.stdout, out)
	}
	return table()
}
