-- GET /scim/v2/Users/{id}, rotating over the preloaded users.
-- args: <token> <N> <run prefix> <ids file>
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
require "ids"
local i = 0
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  ids = load_ids(args[4])
end
function request()
  i = i + 1
  return wrk.format("GET", "/scim/v2/Users/" .. ids[(i % #ids) + 1])
end
