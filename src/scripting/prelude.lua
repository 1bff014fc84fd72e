-- The Lua side of the redis API and the sandbox (chunk "@redis_internal").
-- Arguments: the hidden globals table, the per-run hooks table, and the Rust helpers.
local H, hooks, rust = ...
local error, type, select, tonumber, tostring = error, type, select, tonumber, tostring
local rawpcall, floor = H.pcall, H.math.floor
local redis = H.redis
-- Functions that raise go through rust.cwrap: a C function keeps the script's frame on a
-- tail call (`return redis.call(...)`), so errors can name the script line as Redis does.
local wrap = rust.cwrap

-- Redis's luaPushErrorBuff: "-CODE msg" keeps its code, a bare message gets ERR.
local function error_table(s)
  local code, msg = 'ERR', s
  if s:sub(1, 1) == '-' then
    local body = s:sub(2)
    local sp = body:find(' ', 1, true)
    if sp then
      code, msg = body:sub(1, sp - 1), body:sub(sp + 1)
    else
      msg = body
    end
  end
  msg = (msg:gsub('^[\r\n]+', ''))
  msg = (msg:gsub('[\r\n]+$', ''))
  return {err = code .. ' ' .. msg}
end

-- redis.call / redis.pcall are Rust functions (see mod.rs): they take any number of arguments.
redis.call = rust.call
redis.pcall = rust.pcall

redis.error_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if s:sub(1, 1) ~= '-' then s = '-' .. s end
  return error_table(s)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end
redis.sha1hex = wrap(function(...)
  if select('#', ...) ~= 1 then error({err = 'ERR wrong number of arguments'}) end
  return rust.sha1hex(...)
end)
redis.log = wrap(function(...)
  local n = select('#', ...)
  if n < 2 then error({err = 'ERR redis.log() requires two arguments or more.'}) end
  local level = tonumber((...))
  if level == nil then error({err = 'ERR First argument must be a number (log level).'}) end
  level = level >= 0 and floor(level) or -floor(-level)
  if level < 0 or level > 3 then error({err = 'ERR Invalid debug level.'}) end
  rust.log(level, select(2, ...))
end)
local function in_run(what)
  local f = hooks[what]
  if f == nil then
    error({err = 'ERR redis.' .. what .. ' can only be called inside a script invocation'})
  end
  return f
end
redis.setresp = wrap(function(...)
  local f = in_run('setresp')
  if select('#', ...) ~= 1 then error({err = 'ERR redis.setresp() requires one argument.'}) end
  local v = tonumber((...)) or 0
  v = v >= 0 and floor(v) or -floor(-v)
  if v ~= 2 and v ~= 3 then error({err = 'ERR RESP version must be 2 or 3.'}) end
  f(v)
end)
redis.set_repl = wrap(function(...)
  local f = in_run('set_repl')
  if select('#', ...) ~= 1 then error({err = 'ERR redis.set_repl() requires two arguments.'}) end
  local v = tonumber((...)) or 0
  v = v >= 0 and floor(v) or -floor(-v)
  if v < 0 or v > 3 then
    error({err = 'ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.'})
  end
  f(v)
end)
redis.acl_check_cmd = wrap(function(...)
  local f = in_run('acl_check_cmd')
  local ok, v = f(...)
  if not ok then error(v) end
  return v
end)
redis.breakpoint = function() return false end
redis.debug = function() end
redis.replicate_commands = function() return true end

-- math.random / math.randomseed on Redis's own generator (see rand48.rs).
local function checkint(v, i, fname)
  local n = tonumber(v)
  if n == nil then
    local got = v == nil and 'no value' or type(v)
    error(("bad argument #%d to '%s' (number expected, got %s)"):format(i, fname, got), 0)
  end
  return n >= 0 and floor(n) or -floor(-n)
end
H.math.random = wrap(function(...)
  if hooks.cmd == nil then error('math.random can only be called inside a script invocation', 0) end
  local r = rust.random()
  local n = select('#', ...)
  if n == 0 then
    return r
  elseif n == 1 then
    local u = checkint((...), 1, 'random')
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 0) end
    return floor(r * u) + 1
  elseif n == 2 then
    local l, u = ...
    l = checkint(l, 1, 'random')
    u = checkint(u, 2, 'random')
    if l > u then error("bad argument #2 to 'random' (interval is empty)", 0) end
    return floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 0)
end)
H.math.randomseed = wrap(function(...)
  if hooks.cmd == nil then error('math.randomseed can only be called inside a script invocation', 0) end
  rust.randomseed(checkint((...), 1, 'randomseed'))
end)

-- Redis 7's pcall returns the message of an error table rather than the table.
local function pcall_result(ok, ...)
  if ok then return true, ... end
  local e = rust.unraise((...))
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then e = m end
  end
  return false, e
end
H.pcall = function(...) return pcall_result(rawpcall(...)) end

-- The runner: every script runs under xpcall with the handler that records where it failed.
local xpcall, handler = H.xpcall, rust.handler
return function(f, keys, args)
  if keys == nil then return xpcall(f, handler) end
  return xpcall(function() return f(keys, args) end, handler)
end
