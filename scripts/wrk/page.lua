-- GET /scim/v2/Users?count=100: the first page of 100 users.
-- args: <token> <N>
function init(args)
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end
function request()
  return wrk.format("GET", "/scim/v2/Users?count=100")
end
