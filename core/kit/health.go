package kit

import (
	"context"
	"net/http"
	"time"
)

// Check is one readiness condition, such as "the database answers". Its
// error is shown to unauthenticated callers (probes): keep it to a fixed
// phrase and log the details.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

type healthResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// HealthRoutes are /healthz (the process answers) and /readyz (every check
// passes; 503 with the failing checks' reasons otherwise).
func HealthRoutes(checks ...Check) []Route {
	live := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, healthResponse{Status: "ok"})
	})
	ready := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		resp := healthResponse{Status: "ready", Checks: map[string]string{}}
		status := http.StatusOK
		for _, c := range checks {
			if err := c.Run(ctx); err != nil {
				resp.Checks[c.Name] = err.Error()
				resp.Status = "not_ready"
				status = http.StatusServiceUnavailable
				continue
			}
			resp.Checks[c.Name] = "ok"
		}
		writeJSON(w, status, resp)
	})
	return []Route{
		{Method: http.MethodGet, Pattern: "/healthz", Name: "healthz", Handler: live},
		{Method: http.MethodGet, Pattern: "/readyz", Name: "readyz", Handler: ready},
	}
}
