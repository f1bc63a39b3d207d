-- GET /scim/v2/Users?filter=userName eq "user{i}", rotating over the N preloaded users.
-- args: <token> <N>
local i = 0
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  n = tonumber(args[2])
end
function request()
  i = i + 1
  return wrk.format("GET", "/scim/v2/Users?filter=userName%20eq%20%22user" .. (i % n) .. "%22")
end
