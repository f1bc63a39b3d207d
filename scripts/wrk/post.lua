-- POST /scim/v2/Users: a typical IdP user with a unique userName per request
-- (load-<run prefix>-<counter>; pass a new prefix for every run against the same server).
-- args: <token> <N> <run prefix>
local i = 0
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/scim+json"
  prefix = args[3] or "run"
end
function request()
  i = i + 1
  local u = "load-" .. prefix .. "-" .. i
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],' ..
    '"userName":"' .. u .. '","externalId":"ext-' .. u .. '",' ..
    '"name":{"givenName":"Given","familyName":"' .. u .. '","formatted":"Given ' .. u .. '"},' ..
    '"displayName":"User ' .. u .. '","active":true,' ..
    '"emails":[{"value":"' .. u .. '@example.com","type":"work","primary":true}]}'
  return wrk.format("POST", "/scim/v2/Users", nil, body)
end
