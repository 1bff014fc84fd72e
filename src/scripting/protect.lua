-- Locks the globals (chunk "@redis_internal"): reading a missing global and writing any global
-- raise Redis's errors; library tables become read-only views. Arguments: the globals table,
-- now empty, the hidden table that holds their values, and the guarded setmetatable and
-- getmetatable (see mod.rs). Returns the locked tables (table -> true), which the guard reads.
local G, H, guarded, guarded_get = ...
local type = H.type
local error, tostring, setmetatable, rawget, ipairs =
  H.error, H.tostring, H.setmetatable, H.rawget, H.ipairs
local function readonly() error('Attempt to modify a readonly table', 2) end
-- Redis marks these tables read-only inside its Lua: their metatables cannot be replaced
-- (setmetatable fails) nor edited through getmetatable (the globals' comes back as a
-- read-only view, the libraries have none). table -> its view, or true.
local locked = {}
local function lock(t, mt, view)
  setmetatable(t, mt)
  locked[t] = view and setmetatable({}, {__index = mt, __newindex = readonly}) or true
  return t
end
for _, name in ipairs({'string', 'math', 'table', 'redis', 'cjson', 'bit', 'struct', 'cmsgpack', 'coroutine'}) do
  local real = rawget(H, name)
  if real ~= nil then
    H[name] = lock({}, {__index = real, __newindex = readonly}, false)
  end
end
H.setmetatable = guarded
H.getmetatable = guarded_get
-- Redis's Lua parses every chunk as text (precompiled code is refused): a chunk that starts
-- with the bytecode signature fails to parse, with the text parser's error. A space in front
-- makes the parser reach that byte; the chunk keeps its own name in the message.
local loadstring, load = H.loadstring, H.load
H.loadstring = function(s, ...)
  if type(s) == 'string' and s:byte(1) == 27 then
    local name = ...
    if name == nil then name = s end
    return loadstring(' ' .. s, name)
  end
  return loadstring(s, ...)
end
H.load = function(reader, ...)
  if type(reader) ~= 'function' then return load(reader, ...) end
  local first, rest = true, nil
  return load(function()
    if first then
      first = false
      local piece = reader()
      if type(piece) == 'string' and piece:byte(1) == 27 then
        rest = piece
        return ' '
      end
      return piece
    end
    if rest ~= nil then
      local piece = rest
      rest = nil
      return piece
    end
    return reader()
  end, ...)
end
lock(G, {
  __index = function(_, k)
    local v = rawget(H, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = readonly,
}, true)
return locked
