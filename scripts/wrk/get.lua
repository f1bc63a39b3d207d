-- GET /scim/v2/Users/{id}, rotating over the N preloaded users.
-- args: <token> <N>
local i = 0
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  n = tonumber(args[2])
end
function request()
  i = i + 1
  return wrk.format("GET", string.format("/scim/v2/Users/00000000-0000-4000-8000-%012d", i % n))
end
