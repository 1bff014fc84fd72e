-- Locks the globals (chunk "@redis_internal"): reading a missing global and writing any global
-- raise Redis's errors; library tables become read-only views. Arguments: the globals table,
-- now empty, and the hidden table that holds their values.
local G, H = ...
local error, tostring, setmetatable, rawget, ipairs = H.error, H.tostring, H.setmetatable, H.rawget, H.ipairs
local function readonly() error('Attempt to modify a readonly table', 2) end
for _, name in ipairs({'string', 'math', 'table', 'redis', 'cjson', 'bit', 'struct', 'cmsgpack', 'coroutine'}) do
  local real = rawget(H, name)
  if real ~= nil then
    H[name] = setmetatable({}, {__index = real, __newindex = readonly})
  end
end
setmetatable(G, {
  __index = function(_, k)
    local v = rawget(H, k)
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = readonly,
})
