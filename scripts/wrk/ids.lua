-- Shared by get.lua and patch.lua: the ids of the preloaded users, one per line in the
-- file given as the 4th script argument (written by scripts/seed-users.py, or the
-- baseline's fixed ids).
function load_ids(path)
  local ids = {}
  for line in io.lines(path) do
    if line ~= "" then ids[#ids + 1] = line end
  end
  assert(#ids > 0, "no ids in " .. path)
  return ids
end
