-- wrk: send POST instead of GET (headers come from -H).
wrk.method = "POST"
