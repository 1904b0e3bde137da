-- Change-feed followers: each thread (run with one connection a thread) is one integrator
-- reading GET /v1/changes?limit=$LOAD_FEED_LIMIT from the oldest change and then
-- following next_cursor (an empty page: poll again with the same cursor).
-- Reported: "f <thread>" -> "<first seq> <last seq> <entries> <pages>"; every jump in
-- the sequence "g <thread> <seq before> <seq after>" -> 1 (the checks then ask the
-- database whether a change in between exists: one would be an entry the feed skipped);
-- a seq not above the one before, "r <thread> <seq before> <seq after>" -> 1.
local cursor, first, last, entries, pages, limit = nil, nil, nil, 0, 0, "100"

function on_init(no)
  limit = os.getenv("LOAD_FEED_LIMIT") or "100"
end

request = function()
  local path = "/v1/changes?limit=" .. limit
  if cursor then path = path .. "&after=" .. cursor end
  return wrk.format("GET", path)
end

function on_response(status, body)
  if status ~= 200 then return end
  pages = pages + 1
  for seq in body:gmatch('{"seq":(%d+),"type":') do
    seq = tonumber(seq)
    if last and seq ~= last + 1 then
      local tag = seq > last and "g " or "r "
      report[tag .. thread_no .. " " .. last .. " " .. seq] = 1
    end
    first = first or seq
    last = seq
    entries = entries + 1
  end
  cursor = body:match('"next_cursor":"([^"]*)"') or cursor
  report["f " .. thread_no] = string.format("%d %d %d %d", first or 0, last or 0, entries, pages)
end
