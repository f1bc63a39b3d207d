-- PATCH /scim/v2/Users/{id}: replace displayName with a new value every request (a real
-- write), rotating over the N preloaded users.
-- args: <token> <N> <run prefix>
local i = 0
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/scim+json"
  n = tonumber(args[2])
  prefix = args[3] or "run"
end
function request()
  i = i + 1
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],' ..
    '"Operations":[{"op":"replace","path":"displayName","value":"Name ' .. prefix .. '-' .. i .. '"}]}'
  return wrk.format("PATCH", string.format("/scim/v2/Users/00000000-0000-4000-8000-%012d", i % n), nil, body)
end
