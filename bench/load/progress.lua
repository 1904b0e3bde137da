-- Progress batches: POST /v1/progress/batch with $LOAD_BATCH records (default 20), going
-- round this thread's slice of (enrolment, module) pairs ($LOAD_DATA/progress-<n>.lua;
-- threads never share a pair). Run with one connection a thread: a response answers the
-- batch this thread sent last, and a pair's occurred_at grows with every batch (the
-- batch number in seconds after data.base), so each acked record is created or updated.
-- Reported per pair: "p <enrollment id> <module id>" -> "<offset> <writes>", the newest
-- occurred_at offset acked created/updated and how many writes were acked; per outcome:
-- "o <outcome>" -> count.
local data, batch, size, next_pair, sent = nil, 0, 20, 0, {}
local headers = {}

function on_init(no)
  data = dofile(os.getenv("LOAD_DATA") .. "/progress-" .. no .. ".lua")
  size = tonumber(os.getenv("LOAD_BATCH") or "20")
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

request = function()
  batch = batch + 1
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", data.base + batch)
  local records = {}
  sent = {offset = batch, pairs = {}}
  for i = 1, size do
    local pair = data.pairs[next_pair % #data.pairs + 1]
    next_pair = next_pair + 1
    sent.pairs[i] = pair
    records[i] = string.format(
      '{"enrollment_id":"%s","module_id":"%s","status":"in_progress","percent":%d,' ..
      '"time_spent_minutes":%d,"occurred_at":"%s","source":"moodle",' ..
      '"external_id":"load-%d-%d-%d"}',
      pair[1], pair[2], batch % 99 + 1, batch % 600, at, thread_no, batch, i)
  end
  return wrk.format("POST", "/v1/progress/batch", headers,
    '{"records":[' .. table.concat(records, ",") .. ']}')
end

function on_response(status, body)
  if status ~= 200 and status ~= 201 then return end
  for index, outcome in body:gmatch('"index":(%d+),"outcome":"(%a+)"') do
    local key = "o " .. outcome
    report[key] = (report[key] or 0) + 1
    local pair = sent.pairs[tonumber(index) + 1]
    if pair and (outcome == "created" or outcome == "updated") then
      local k = "p " .. pair[1] .. " " .. pair[2]
      local writes = 1
      local before = report[k]
      if before then writes = tonumber(before:match(" (%d+)$")) + 1 end
      report[k] = sent.offset .. " " .. writes
    end
  end
end
