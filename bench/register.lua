-- wrk script of bench/register.py: every request POSTs one valid registration with its own email.
--
-- bench/register.py fetches the form once and passes, through the environment:
--   REGISTER_PATH        the form's path, /events/<slug>/register
--   REGISTER_CSRF_TOKEN  the form's csrf_token
--   REGISTER_COOKIE      the session cookie that goes with it, "session=..."
--   REGISTER_RUN         a label unique to this wrk run, so that no two runs share an address
-- Emails are <run>-<thread>-<counter>@example.org. At the end it prints one line,
-- "REGISTER sent=<n> status_303=<n> other=<n> first_other=<status>", summed over the threads.

local function need(name)
  local value = os.getenv(name)
  if value == nil or value == "" then
    error(name .. " is not set: run bench/register.py, not this script alone")
  end
  return value
end

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end

local path = need("REGISTER_PATH")
local run = need("REGISTER_RUN")
local fixed_fields = "csrf_token=" .. urlencode(need("REGISTER_CSRF_TOKEN"))
  .. "&organisation=Bench&category=elu"
local headers = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Cookie"] = need("REGISTER_COOKIE"),
  ["Accept-Language"] = "fr",
}

-- setup() and done() run in wrk's main Lua state; the threads are reached through these handles.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

-- The globals below live in each thread's own Lua state.
function init(args)
  sent = 0
  status_303 = 0
  other = 0
  first_other = 0
end

function request()
  sent = sent + 1
  local person = run .. "-" .. thread_id .. "-" .. sent
  local body = fixed_fields
    .. "&full_name=Bench+" .. person
    .. "&email=" .. person .. "%40example.org"
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status == 303 then
    status_303 = status_303 + 1
  else
    other = other + 1
    if first_other == 0 then
      first_other = status
    end
  end
end

function done(summary, latency, requests)
  local totals = { sent = 0, status_303 = 0, other = 0, first_other = 0 }
  for _, thread in ipairs(threads) do
    totals.sent = totals.sent + thread:get("sent")
    totals.status_303 = totals.status_303 + thread:get("status_303")
    totals.other = totals.other + thread:get("other")
    if totals.first_other == 0 then
      totals.first_other = thread:get("first_other")
    end
  end
  io.write(string.format(
    "REGISTER sent=%d status_303=%d other=%d first_other=%d\n",
    totals.sent, totals.status_303, totals.other, totals.first_other
  ))
end
