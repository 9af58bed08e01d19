#!/usr/bin/env bash
# The README's test command runs this through `npm test`: set-up, static checks, every test,
# then one plain closing line "N passed, N failed, N skipped" (each static check counts as one).
# Under CI=true a skipped test is a failure: CI must prove every service-backed test ran.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .test-results
rm -f .test-results/vitest.json .test-results/summary.txt

passed=0
failed=0
skipped=0

check() {
  local name=$1
  shift
  echo "== $name: $*"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "!! $name failed"
  fi
}

# Everything below runs on the project's Node 22 (node_modules/.bin comes first on PATH under npm).
echo "node $(node --version)"
bash scripts/setup-test-env.sh || { echo "!! test set-up failed"; failed=$((failed + 1)); }

check typecheck tsc -p . --noEmit
check lint eslint --max-warnings 0 .
check format prettier --check --log-level warn .

echo "== vitest"
vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json
vitest_rc=$?

if [ -f .test-results/vitest.json ]; then
  read -r vp vf vs < <(node -e '
    const r = JSON.parse(require("fs").readFileSync(".test-results/vitest.json", "utf8"));
    // A file that fails to load has no failed test in it; count it as a failure so it is seen.
    const loadFailures = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + loadFailures, r.numPendingTests + r.numTodoTests);
  ')
  passed=$((passed + vp))
  failed=$((failed + vf))
  skipped=$((skipped + vs))
  if [ "$vitest_rc" -ne 0 ] && [ "$vf" -eq 0 ]; then
    echo "!! vitest exited $vitest_rc without a failed test (an unhandled error or a broken config)"
    failed=$((failed + 1))
  fi
else
  echo "!! vitest wrote no report (exit $vitest_rc)"
  failed=$((failed + 1))
fi

if [ "${CI:-}" = "true" ] && [ "$skipped" -gt 0 ]; then
  echo "!! CI=true and $skipped test(s) skipped: under CI every service must be there"
  failed=$((failed + skipped))
fi

summary="$passed passed, $failed failed, $skipped skipped"
echo "$summary" > .test-results/summary.txt
echo "$summary"
[ "$failed" -eq 0 ]
