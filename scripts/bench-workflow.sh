#!/bin/sh
# The workflow engine's figures in one run (docs/benchmarks.md): a
# supervision sweep over COUNTIES × TASKS open tasks, actions through the
# engine against raw SQL doing the same writes, and job throughput with two
# workers. Each benchmark measures its own baseline in the same run.
#
#   scripts/bench-workflow.sh [COUNTIES [TASKS]]    (default 1000 1000)
set -eu
counties=${1:-1000}
tasks=${2:-1000}
cd "$(dirname "$0")/.."
echo "== supervision sweep: $counties counties × $tasks open tasks"
go test ./tenants/supervision -run '^$' -bench Sweep -benchtime 1x -timeout 2h -counties "$counties" -tasks "$tasks"
echo "== workflow actions: engine and raw SQL"
go test ./tenants/workflow -run '^$' -bench Actions -benchtime 2000x -count 3
echo "== jobs: two workers and raw SQL"
go test ./core/jobs -run '^$' -bench TwoWorkers -benchtime 3000x -count 3
