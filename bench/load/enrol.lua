-- Enrolments: every request POSTs /v1/cohorts/{id}/enrollments for a learner never
-- enrolled before, with its own Idempotency-Key, going round the cohorts. Odd requests
-- name a pre-registered learner by NIP (this thread's slice, from $LOAD_DATA/enrol-<n>.lua);
-- even ones (and all once the slice is used up) send a new learner with the payload that
-- creates it: a NIP born 1970-2002 with CPNS start 2020-2025, outside the pre-registered
-- range (born 1966), distinct per thread and request.
-- Reported: "e <enrollment id> <learner key>" for every 201.
local data, counter, fresh, headers = nil, 0, 0, {}

function on_init(no)
  data = dofile(os.getenv("LOAD_DATA") .. "/enrol-" .. no .. ".lua")
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

local function new_nip(n)
  local s = n % 999 + 1
  n = math.floor(n / 999)
  local g = n % 2 + 1
  n = math.floor(n / 2)
  local d = n % 12000
  n = math.floor(n / 12000)
  local m = n % 72
  local born = os.date("!%Y%m%d", d * 86400)
  return string.format("%s%04d%02d%d%03d", born, 2020 + math.floor(m / 12), m % 12 + 1, g, s)
end

request = function()
  counter = counter + 1
  local cohort = data.cohorts[(counter + thread_no * 7) % #data.cohorts + 1]
  local existing = counter % 2 == 1 and data.existing[(counter + 1) / 2]
  local body
  if existing then
    body = string.format('{"learner_key":"%s"}', existing)
  else
    fresh = fresh + 1
    -- 2^20 new learners a thread (the NIP space holds 1.7e9): threads never meet
    local n = (data.salt * 64 + thread_no) * 1048576 + fresh
    body = string.format(
      '{"learner_key":"%s","learner":{"asn_type":"pns","name":"Peserta Uji Beban",' ..
      '"position_type":"pelaksana","rank":"III/a"}}', new_nip(n))
  end
  headers["Idempotency-Key"] = string.format("load-%d-%d-%d", data.salt, thread_no, counter)
  return wrk.format("POST", "/v1/cohorts/" .. cohort .. "/enrollments", headers, body)
end

function on_response(status, body)
  if status == 201 then
    local id = body:match('"id":"([^"]+)"')
    local key = body:match('"learner_key":"([^"]+)"')
    if id then report["e " .. id] = key or "?" end
  end
end
