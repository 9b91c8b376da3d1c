-- 100 distinct consecutive users from a random start per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("MAMA_BENCH_TOKEN")
request = function()
  local start = math.random(0, 9899)
  local ids = {}
  for i = 0, 99 do ids[#ids + 1] = string.format('"bench-%06d"', start + i) end
  return wrk.format(nil, nil, nil, '{"user_ids":[' .. table.concat(ids, ",") .. ']}')
end
