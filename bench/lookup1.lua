-- One random user of the 10,000 seeded per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("MAMA_BENCH_TOKEN")
request = function()
  return wrk.format(nil, nil, nil, string.format('{"user_ids":["bench-%06d"]}', math.random(0, tonumber(os.getenv("MAMA_BENCH_RANGE") or "10000") - 1)))
end
