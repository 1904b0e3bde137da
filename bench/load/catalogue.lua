-- Catalogue reads: GET the paths in $LOAD_PATHS (one per line) in turn, each thread
-- starting at another one.
local paths, turn = {}, 0

function on_init(no)
  for p in os.getenv("LOAD_PATHS"):gmatch("[^\n]+") do table.insert(paths, p) end
  turn = no
end

request = function()
  turn = turn + 1
  return wrk.format("GET", paths[turn % #paths + 1])
end
