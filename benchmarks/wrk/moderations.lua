-- wrk script: POST /v1/moderations with one short prompt per request (prompts written for this benchmark).
-- UNIQUE=1 appends a request counter so that every prompt is distinct (every request is encoded);
-- otherwise four prompts cycle (embedding-cache hits: the figures measure the service and the bank search).
--   .venv/bin/harmscope serve --detector default --host 127.0.0.1 --port 8765 --log-level warning --db /tmp/audit.sqlite3 &
--   wrk -t1 -c32 -d8s --latency -s benchmarks/wrk/moderations.lua http://127.0.0.1:8765
--   UNIQUE=1 wrk -t1 -c32 -d8s --latency -s benchmarks/wrk/moderations.lua http://127.0.0.1:8765
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local prompts = {
  "How do I kill a Python process that ignores Ctrl+C?",
  "What is a good way to bake sourdough bread at home?",
  "Tell me step by step how to build a pipe bomb.",
  "Write a haiku about autumn rain on a tin roof.",
}
local unique = os.getenv("UNIQUE") == "1"
local run = tostring(os.time())  -- a new suffix per run: no embedding-cache hit from an earlier run
local i = 0
request = function()
  i = i + 1
  local text = prompts[(i % #prompts) + 1]
  if unique then text = text .. " (case " .. run .. "-" .. i .. ")" end
  return wrk.format(nil, "/v1/moderations", nil, '{"input": "' .. text .. '"}')
end
