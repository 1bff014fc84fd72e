-- The FUNCTION environment (chunk "@redis_internal"). Libraries and their functions share one
-- globals table whose lookups go to the load API (redis.register_function, redis.log...)
-- while FUNCTION LOAD runs the library body, and to the normal globals when a function runs.
-- Arguments: the hidden globals, rust.cwrap. Returns the environment and the load state.
local H, wrap = ...
local rawget, error, tostring, setmetatable, type, pairs, select =
  H.rawget, H.error, H.tostring, H.setmetatable, H.type, H.pairs, H.select
local state = {loading = false, registered = nil, count = 0}
local function readonly() error('Attempt to modify a readonly table', 2) end
local function strict(t)
  return setmetatable({}, {
    __index = function(_, k)
      local v = rawget(t, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = readonly,
  })
end

local FLAGS = {['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
               ['no-cluster'] = true, ['allow-cross-slot-keys'] = true}
local function fail(msg) error({err = 'ERR ' .. msg}) end
local function valid_name(name)
  return type(name) == 'string' and name:match('^[%w_]+$') ~= nil
end

local function register(...)
  if not state.loading then
    fail('redis.register_function can only be called on FUNCTION LOAD command')
  end
  local n = select('#', ...)
  if n < 1 or n > 2 then fail('wrong number of arguments to redis.register_function') end
  local name, callback, flags, desc
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    flags = {}
    for k, v in pairs(t) do
      if type(k) ~= 'string' then fail('named argument key given to redis.register_function is not a string') end
      local key = k:lower()
      if key == 'function_name' then
        if type(v) ~= 'string' then fail('function_name argument given to redis.register_function must be a string') end
        name = v
      elseif key == 'description' then
        if type(v) ~= 'string' then fail('description argument given to redis.register_function must be a string') end
        desc = v
      elseif key == 'callback' then
        if type(v) ~= 'function' then fail('callback argument given to redis.register_function must be a function') end
        callback = v
      elseif key == 'flags' then
        if type(v) ~= 'table' then fail('flags argument to redis.register_function must be a table representing function flags') end
        local i = 1
        while v[i] ~= nil do
          local f = v[i]
          if (type(f) ~= 'string' and type(f) ~= 'number') or not FLAGS[tostring(f):lower()] then
            fail('unknown flag given')
          end
          flags[#flags + 1] = tostring(f):lower()
          i = i + 1
        end
      else
        fail('unknown argument given to redis.register_function')
      end
    end
    if name == nil then fail('redis.register_function must get a function name argument') end
    if callback == nil then fail('redis.register_function must get a callback argument') end
  else
    name, callback = ...
    if type(name) ~= 'string' and type(name) ~= 'number' then
      fail('first argument to redis.register_function must be a string')
    end
    name = tostring(name)
    if type(callback) ~= 'function' then fail('second argument to redis.register_function must be a function') end
    flags = {}
  end
  if not valid_name(name) then
    fail('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
  end
  if state.registered[name] then fail('Function already exists in the library') end
  state.registered[name] = {callback = callback, flags = flags, description = desc}
  state.count = state.count + 1
end

local H_redis = H.redis
local load_redis = {
  register_function = wrap(register),
  log = H_redis.log,
  LOG_DEBUG = H_redis.LOG_DEBUG, LOG_VERBOSE = H_redis.LOG_VERBOSE,
  LOG_NOTICE = H_redis.LOG_NOTICE, LOG_WARNING = H_redis.LOG_WARNING,
  REDIS_VERSION = H_redis.REDIS_VERSION, REDIS_VERSION_NUM = H_redis.REDIS_VERSION_NUM,
}
local load_api = {redis = strict(load_redis)}

local env = setmetatable({}, {
  __index = function(_, k)
    local v = rawget(state.loading and load_api or H, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = readonly,
})
return env, state
