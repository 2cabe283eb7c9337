-- wrk script of `manage.py loadtest` (make loadtest): a mix of pages, answers counted by class.
--
--   wrk -t2 -c64 -d60s --latency -s scripts/loadtest.lua http://127.0.0.1:PORT -- PATHS MARKER THREADS
--
-- PATHS is a file the command writes, one path a line, already weighted and shuffled; each wrk
-- thread cycles through it from its own starting point. MARKER is a string that only the paths
-- meant to be missing contain: their 404 page repeats the path (in the language links), so a 404
-- whose body holds the marker is expected and any other 4xx is not. THREADS is wrk's -t.
-- At the end one line starting "loadtest:" sums up the run as key=value pairs (parse_report in
-- portal/management/commands/loadtest.py reads it).

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("no paths in " .. args[1])
  end
  marker = args[2]
  local count = tonumber(args[3]) or 1
  index = math.floor(#paths * id / count)
  ok2xx, ok3xx, expected404, unexpected4xx, server5xx, other = 0, 0, 0, 0, 0, 0
  codes = ""  -- unexpected statuses seen, "status:count,…" (tables do not cross wrk's threads)
  unexpected = {}
end

function request()
  index = index % #paths + 1
  return wrk.format(nil, paths[index])
end

local function note(status)
  unexpected[status] = (unexpected[status] or 0) + 1
  local parts = {}
  for code, n in pairs(unexpected) do
    parts[#parts + 1] = code .. ":" .. n
  end
  codes = table.concat(parts, ",")
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok2xx = ok2xx + 1
  elseif status >= 300 and status < 400 then
    ok3xx = ok3xx + 1
  elseif status == 404 and body and string.find(body, marker, 1, true) then
    expected404 = expected404 + 1
  elseif status >= 400 and status < 500 then
    unexpected4xx = unexpected4xx + 1
    note(status)
  elseif status >= 500 then
    server5xx = server5xx + 1
    note(status)
  else
    other = other + 1
    note(status)
  end
end

function done(summary, latency, requests)
  local totals = { ["2xx"] = 0, ["3xx"] = 0, expected_404 = 0, unexpected_4xx = 0, ["5xx"] = 0, other = 0 }
  local names = {
    ok2xx = "2xx", ok3xx = "3xx", expected404 = "expected_404",
    unexpected4xx = "unexpected_4xx", server5xx = "5xx", other = "other",
  }
  local merged = {}
  for _, thread in ipairs(threads) do
    for variable, key in pairs(names) do
      totals[key] = totals[key] + (thread:get(variable) or 0)
    end
    for code, n in string.gmatch(thread:get("codes") or "", "(%d+):(%d+)") do
      merged[code] = (merged[code] or 0) + tonumber(n)
    end
  end
  local parts = {}
  for code, n in pairs(merged) do
    parts[#parts + 1] = code .. ":" .. n
  end
  table.sort(parts)
  local errors = summary.errors
  io.write(string.format(
    "loadtest: requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d timeout=%d status=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%d "
      .. "2xx=%d 3xx=%d expected_404=%d unexpected_4xx=%d 5xx=%d other=%d codes=%s\n",
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.timeout, errors.status,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(90)), math.floor(latency:percentile(99)),
    math.floor(latency.max), math.floor(latency.mean),
    totals["2xx"], totals["3xx"], totals.expected_404, totals.unexpected_4xx, totals["5xx"], totals.other,
    table.concat(parts, ",")
  ))
end
