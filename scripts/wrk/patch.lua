-- PATCH /scim/v2/Users/{id}: replace displayName with a new value every request (a real
-- write), rotating over the preloaded users.
-- args: <token> <N> <run prefix> <ids file>
package.path = debug.getinfo(1, "S").source:match("@(.*/)") .. "?.lua;" .. package.path
require "ids"
local i = 0
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/scim+json"
  ids = load_ids(args[4])
  prefix = args[3] or "run"
end
function request()
  i = i + 1
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
    '"Operations":[{"op":"replace","path":"displayName","value":"Name ' .. prefix .. '-' .. i .. '"}]}'
  return wrk.format("PATCH", "/scim/v2/Users/" .. ids[(i % #ids) + 1], nil, body)
end
