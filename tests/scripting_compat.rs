//! Lua scripting side by side with the reference: EVAL / EVALSHA / *_RO, SCRIPT, the
//! reply <-> Lua conversions in RESP2 and RESP3, the sandbox and its errors, the libraries, a
//! compare-and-delete lock and a token-bucket rate limiter driven by EVALSHA. Every reply must
//! be identical byte for byte with a real redis-server 7.0.15, over RESP2 and RESP3
//! connections.
//!
//! Lines are split as in the other compat tests (`'...'` quotes an argument); inside an
//! argument `\n` stands for a newline (shebang lines need one). Scripts use double quotes.

mod common;

mod compare_util;

use common::{resp_command, RawConn};
use compare_util::{split, start};

/// Runs `script` on both servers (RESP2 then RESP3) and returns the differences.
fn compare_lines(tag: &str, script: &str) {
    let Some(p) = start(tag) else {
        return;
    };
    let mut diffs = Vec::new();
    for proto in [2, 3] {
        let mut k = RawConn::connect(p.keyslot.port);
        let mut r = RawConn::connect(p.redis.port);
        for c in [&mut k, &mut r] {
            c.call(&["FLUSHALL"]);
            c.call(&["SCRIPT", "FLUSH"]);
            if proto == 3 {
                c.call(&["HELLO", "3"]);
            }
        }
        for line in script.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let args: Vec<String> = split(line)
                .into_iter()
                .map(|a| a.replace("\\n", "\n"))
                .collect();
            k.send(&resp_command(&args));
            r.send(&resp_command(&args));
            let (_, kraw) = k.read_reply();
            let (_, rraw) = r.read_reply();
            if kraw != rraw {
                diffs.push(format!(
                    "RESP{proto} {line}\n   keyslot: {:?}\n   redis:   {:?}",
                    String::from_utf8_lossy(&kraw),
                    String::from_utf8_lossy(&rraw)
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn eval_basics_match_redis() {
    compare_lines(
        "lua_basics",
        r#"
SET foo bar
EVAL 'return redis.call("get", KEYS[1])' 1 foo
EVAL 'return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}' 2 a b c d
EVAL 'return redis.call("incr", "foo")' 0
EVAL 'return redis.pcall("incr", "foo")' 0
EVAL 'return redis.call("nosuch")' 0
EVAL 'return redis.call("get")' 0
EVAL 'return redis.call("multi")' 0
EVAL 'return redis.call("blpop", "l", 0)' 0
EVAL 'return redis.call()' 0
EVAL 'return redis.call({})' 0
EVAL 'return redis.call("set", "n", 1.5)' 0
GET n
EVAL 'return redis.call("set", "n", 10)' 0
EVAL 'return redis.call("incrby", "n", 0.1)' 0
EVAL 'return 1' -1
EVAL 'return 1' 2 a
EVAL 'return 1' abc
EVAL 'return 1'
EVAL 'return "a' 0
EVALSHA ffffffffffffffffffffffffffffffffffffffff 0
EVALSHA fff 0
EVAL 'return redis.call("set", KEYS[1], ARGV[1])' 1 k v
EVALSHA 2f1dc5dbc38e63e4ec5cd8e6ef4c1e41e6a7e1fc 1 k v
SCRIPT LOAD 'return redis.call("get", KEYS[1])'
EVALSHA 4e6d8fc8bb01276962cce5371fa795a7763657ae 1 k
EVALSHA 4E6D8FC8BB01276962CCE5371FA795A7763657AE 1 k
EVALSHA_RO 4e6d8fc8bb01276962cce5371fa795a7763657ae 1 k
SCRIPT EXISTS 4e6d8fc8bb01276962cce5371fa795a7763657ae ffffffffffffffffffffffffffffffffffffffff
SCRIPT FLUSH
SCRIPT EXISTS 4e6d8fc8bb01276962cce5371fa795a7763657ae
SCRIPT FLUSH SYNC
SCRIPT FLUSH ASYNC
SCRIPT FLUSH bad
SCRIPT FLUSH sync x
SCRIPT KILL
SCRIPT LOAD 'return "a'
SCRIPT
SCRIPT nosuch
SCRIPT HELP
SCRIPT LOAD
EVAL_RO 'return redis.call("set", "x", 1)' 0
EVAL_RO 'return redis.call("get", "foo")' 0
"#,
    );
}

#[test]
fn conversions_match_redis() {
    compare_lines(
        "lua_conv",
        r#"
RPUSH list a b c
HSET h f v g w
SADD s m
ZADD z 1.5 m
EVAL 'return {1, 2, 3.99, -3.99, "x", {ok="fine"}, {err="bad"}, nil, 4}' 0
EVAL 'return 3.99' 0
EVAL 'return -0.5' 0
EVAL 'return true' 0
EVAL 'return false' 0
EVAL 'return nil' 0
EVAL 'return {true, false, 1}' 0
EVAL 'return {err="x"}' 0
EVAL 'return {err="MYCODE some text"}' 0
EVAL 'return {ok="a\r\nb"}' 0
EVAL 'return {ok=5}' 0
EVAL 'return {1, {2, {3, {4}}}}' 0
EVAL 'return redis.call("lrange", "list", 0, -1)' 0
EVAL 'return redis.call("hgetall", "h")' 0
EVAL 'return redis.call("get", "nokey")' 0
EVAL 'return type(redis.call("get", "nokey"))' 0
EVAL 'return redis.call("set", "x", "y")' 0
EVAL 'return type(redis.call("set", "x", "y"))' 0
EVAL 'return redis.call("set", "x", "y").ok' 0
EVAL 'return redis.pcall("incr", "list")' 0
EVAL 'return redis.pcall("incr", "list").err' 0
EVAL 'return redis.call("zscore", "z", "m")' 0
EVAL 'return redis.call("zrange", "z", 0, -1, "withscores")' 0
EVAL 'redis.setresp(3) return redis.call("hgetall", "h")' 0
EVAL 'redis.setresp(3) return redis.call("smembers", "s")' 0
EVAL 'redis.setresp(3) return redis.call("zscore", "z", "m")' 0
EVAL 'redis.setresp(3) return type(redis.call("get", "nokey"))' 0
EVAL 'redis.setresp(3) return redis.call("get", "nokey")' 0
EVAL 'redis.setresp(3) return {double=3.5}' 0
EVAL 'redis.setresp(3) return true' 0
EVAL 'redis.setresp(3) return false' 0
EVAL 'redis.setresp(3) return {map={a=1}}' 0
EVAL 'redis.setresp(3) return {set={a=true}}' 0
EVAL 'return {double=3.5}' 0
EVAL 'redis.setresp(4)' 0
EVAL 'redis.setresp()' 0
EVAL 'return redis.status_reply("FINE")' 0
EVAL 'return redis.error_reply("My Error")' 0
EVAL 'return redis.error_reply("-ERR x")' 0
EVAL 'return redis.error_reply(1)' 0
EVAL 'return redis.status_reply()' 0
EVAL 'return redis.sha1hex("")' 0
EVAL 'return redis.sha1hex("abc")' 0
EVAL 'return redis.sha1hex()' 0
EVAL 'return tostring(1/3)' 0
EVAL 'return redis.REDIS_VERSION' 0
EVAL 'return redis.REDIS_VERSION_NUM' 0
EVAL 'return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}' 0
EVAL 'return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_REPLICA, redis.REPL_SLAVE, redis.REPL_ALL}' 0
EVAL 'return redis.log(redis.LOG_DEBUG, "from a script")' 0
EVAL 'return redis.log(9, "x")' 0
EVAL 'return redis.log(1)' 0
EVAL 'return redis.log("x", "y")' 0
EVAL 'return redis.breakpoint()' 0
EVAL 'return redis.debug("x")' 0
EVAL 'return redis.replicate_commands()' 0
EVAL 'redis.set_repl(redis.REPL_ALL) return 1' 0
EVAL 'redis.set_repl(9) return 1' 0
"#,
    );
}

#[test]
fn sandbox_matches_redis() {
    compare_lines(
        "lua_sandbox",
        r#"
EVAL 'return x' 0
EVAL 'x = 1' 0
EVAL 'return string.foo' 0
EVAL 'string.foo = 1' 0
EVAL 'redis.call = nil' 0
EVAL 'return os' 0
EVAL 'return io' 0
EVAL 'return type(print)' 0
EVAL 'return type(loadfile)' 0
EVAL 'return type(dofile)' 0
EVAL 'return type(require)' 0
EVAL 'return {type(string), type(math), type(table), type(bit), type(cjson), type(coroutine)}' 0
EVAL 'return loadstring("return 7")()' 0
EVAL 'return _G.foo' 0
EVAL 'error("boom")' 0
EVAL 'error({err="MY boom"})' 0
EVAL 'error()' 0
EVAL 'local function f() error("deep") end\nf()' 0
EVAL '\n\nreturn redis.call("nosuch")' 0
EVAL 'return pcall(function() x = 1 end)' 0
EVAL 'local ok, e = pcall(function() x = 1 end) return e' 0
EVAL 'local ok, e = pcall(redis.call, "incr", "nosuchcmd") return {ok and 1 or 0, e}' 0
EVAL 'local ok, e = pcall(redis.call, "nosuch") return e' 0
EVAL 'local ok, e = pcall(error, {err="T"}) return e' 0
EVAL 'return math.random()' 0
EVAL 'return math.random(10)' 0
EVAL 'return math.random(5, 10)' 0
EVAL 'math.randomseed(7) return {math.random(1, 100), math.random(1, 100)}' 0
EVAL 'return math.random(0)' 0
EVAL 'return math.random(1, 2, 3)' 0
EVAL 'return math.floor(math.pi * 100)' 0
EVAL 'return string.format("%d-%s", 5, "x")' 0
EVAL 'return table.concat({"a", "b"}, ",")' 0
EVAL 'return string.rep("x", 3)' 0
EVAL '#!lua\nreturn 1' 0
EVAL '#!lua flags=no-writes\nreturn redis.call("set", "x", "1")' 0
EVAL '#!lua flags=no-writes\nreturn redis.call("get", "x")' 0
EVAL_RO '#!lua\nreturn 1' 0
EVAL_RO '#!lua flags=no-writes\nreturn 1' 0
EVAL '#!lua flags=bad\nreturn 1' 0
EVAL '#!lua x=1\nreturn 1' 0
EVAL '#!python\nreturn 1' 0
EVAL '#!lua' 0
EVAL '#!lua flags=allow-oom,allow-stale,allow-cross-slot-keys\nreturn 2' 0
EVAL '#!lua\nerror("line two")' 0
"#,
    );
}

#[test]
fn libraries_match_redis() {
    compare_lines(
        "lua_libs",
        r#"
EVAL 'return bit.tobit(4294967295)' 0
EVAL 'return bit.tohex(65535, -4)' 0
EVAL 'return bit.tohex(255)' 0
EVAL 'return {bit.band(12, 10), bit.bor(12, 10), bit.bxor(12, 10), bit.bnot(0)}' 0
EVAL 'return {bit.lshift(1, 4), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(1, 33), bit.ror(1, 1), bit.bswap(1)}' 0
EVAL 'return cjson.encode({1, 2, "x"})' 0
EVAL 'return cjson.encode({a="b/c"})' 0
EVAL 'return cjson.encode({})' 0
EVAL 'return cjson.encode(1/3)' 0
EVAL 'return cjson.encode("a\"b\\c\n")' 0
EVAL 'return cjson.encode({[1]=1, [20]=2})' 0
EVAL 'return cjson.encode({[true]=1})' 0
EVAL 'return cjson.encode(function() end)' 0
EVAL 'return cjson.encode({x={y={z=true}}})' 0
EVAL 'local t = cjson.decode("[1,2,{\"a\":\"b\"}]") return {t[1], t[2], t[3].a}' 0
EVAL 'return cjson.decode("\"\\u00e9\"")' 0
EVAL 'return cjson.decode("{")' 0
EVAL 'return cjson.decode("")' 0
EVAL 'return cjson.decode("[1,]")' 0
EVAL 'return cjson.decode("1 2")' 0
EVAL 'return cjson.decode("nul")' 0
EVAL 'return cjson.decode("null") == cjson.null' 0
EVAL 'return cjson.encode(cjson.decode("{\"a\":[1,2.5,null,true]}"))' 0
EVAL 'return cmsgpack.pack(1, -1, 200, -200, 70000, -70000, 5000000000, -5000000000, 0.5, 0.1, "x", true, false, nil)' 0
EVAL 'return cmsgpack.pack({1, 2, 3}, {a=1}, {[1]=1, [3]=3})' 0
EVAL 'return cmsgpack.pack(string.rep("x", 40), string.rep("y", 300))' 0
EVAL 'return {cmsgpack.unpack(cmsgpack.pack(1, "a", {1, 2}))}' 0
EVAL 'return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 0)}' 0
EVAL 'return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 0)}' 0
EVAL 'return cmsgpack.unpack("\\217")' 0
EVAL 'return cmsgpack.pack()' 0
EVAL 'return struct.pack(">I2", 258)' 0
EVAL 'return {struct.unpack("<i4 b", struct.pack("<i4 b", -5, 3))}' 0
EVAL 'return struct.size(">i4h")' 0
EVAL 'return struct.pack("s", "ab")' 0
"#,
    );
}

#[test]
fn functions_match_redis() {
    compare_lines(
        "lua_functions",
        r#"
FUNCTION FLUSH
FUNCTION LOAD '#!lua name=mylib\nredis.register_function("f1", function(keys, args) return redis.call("set", keys[1], args[1]) end)'
FUNCTION LOAD '#!lua name=lib2\nredis.register_function{function_name="f2", callback=function(keys, args) return {keys[1], args[1]} end, flags={"no-writes"}, description="desc"}'
FCALL f1 1 k v
FCALL F1 1 k v2
GET k
FCALL f2 1 k v
FCALL_RO f2 1 k v
FCALL_RO f1 1 k v
FCALL nosuch 0
FCALL f1 x
FCALL f1 5 a
FCALL f1 -1
FUNCTION LIST LIBRARYNAME lib2
FUNCTION LIST WITHCODE LIBRARYNAME my*
FUNCTION LIST LIBRARYNAME
FUNCTION LIST bad
FUNCTION STATS
FUNCTION LOAD '#!lua name=mylib\nredis.register_function("f9", function() return 1 end)'
FUNCTION LOAD REPLACE '#!lua name=mylib\nredis.register_function("f2", function() return 1 end)'
FUNCTION LOAD 'return 1'
FUNCTION LOAD '#!lua'
FUNCTION LOAD '#!lua name=x foo=bar\nreturn 1'
FUNCTION LOAD '#!lua name=bad-name\nreturn'
FUNCTION LOAD '#!js name=x\nreturn'
FUNCTION LOAD '#!lua name=x\nreturn 1'
FUNCTION LOAD '#!lua name=x\nredis.call("ping")'
FUNCTION LOAD '#!lua name=x\nredis.register_function()'
FUNCTION LOAD '#!lua name=x\nredis.register_function("a-b", function() end)'
FUNCTION LOAD '#!lua name=x\nredis.register_function{function_name="a", callback=function() end, flags={"bad"}}'
FUNCTION LOAD '#!lua name=x\nerror("boom")'
FUNCTION LOAD '#!lua name=x\nreturn "a'
FUNCTION LOAD bad '#!lua name=x\nreturn'
FUNCTION LOAD '#!lua name=x\nredis.register_function("g", function() return x end)'
FCALL g 0
FUNCTION LOAD '#!lua name=y\nredis.register_function("h", function() error("bad") end)'
FCALL h 0
FUNCTION DELETE x
FUNCTION DELETE nosuch
FUNCTION FLUSH bad
FUNCTION FLUSH ASYNC
FUNCTION KILL
FUNCTION RESTORE bad
FUNCTION RESTORE bad FLUSH x
FUNCTION HELP
FUNCTION LIST
"#,
    );
}

/// A compare-and-delete lock: SET NX PX to take it, a script to release it only by its owner.
#[test]
fn lock_script_matches_redis() {
    compare_lines(
        "lua_lock",
        r#"
SCRIPT LOAD 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end'
SET lock owner1 NX PX 10000
SET lock owner2 NX PX 10000
EVALSHA 5d5c5a3d45ca6a2a1f7f3bda6a0a3ec47a83fc4b 1 lock owner2
EVAL 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end' 1 lock owner2
EVAL 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end' 1 lock owner1
EXISTS lock
SET lock owner2 NX PX 10000
GET lock
"#,
    );
}

/// A token bucket: capacity, refill rate and the caller's clock come as arguments (scripts
/// must not read time themselves for determinism); the bucket lives in a hash.
#[test]
fn rate_limiter_matches_redis() {
    let body = "local cap = tonumber(ARGV[1]) local rate = tonumber(ARGV[2]) local now = tonumber(ARGV[3]) local want = tonumber(ARGV[4]) local b = redis.call(\"hmget\", KEYS[1], \"tokens\", \"ts\") local tokens = tonumber(b[1]) or cap local ts = tonumber(b[2]) or now tokens = math.min(cap, tokens + (now - ts) * rate) local ok = 0 if tokens >= want then tokens = tokens - want ok = 1 end redis.call(\"hset\", KEYS[1], \"tokens\", tokens, \"ts\", now) redis.call(\"pexpire\", KEYS[1], 60000) return {ok, tostring(tokens)}";
    let sha = sha1_hex(body.as_bytes());
    let mut script = format!("SCRIPT LOAD '{body}'\n");
    for (now, want) in [
        (1000, 1),
        (1000, 3),
        (1000, 2),
        (1001, 2),
        (1500, 1),
        (5000, 10),
    ] {
        script.push_str(&format!("EVALSHA {sha} 1 bucket 5 2 {now} {want}\n"));
    }
    script.push_str("HGETALL bucket\nEVALSHA_RO ");
    script.push_str(&sha);
    script.push_str(" 1 bucket 5 2 6000 1\n");
    compare_lines("lua_bucket", &script);
}

/// SHA-1 for the test's script name (the servers compute theirs; both must agree).
fn sha1_hex(data: &[u8]) -> String {
    keyslot::scripting::sha1::sha1_hex(data)
}

/// A script's effects reach the AOF (the replication stream) as the write commands it ran,
/// inside MULTI / EXEC when there are several, and a replica of a keyslot master (a real
/// redis-server) ends with the same data.
#[test]
fn scripts_replicate_as_effects() {
    if !common::require_tools("lua_effects", &["redis-server"]) {
        return;
    }
    let dir = common::TempDir::new("lua_effects");
    let master = common::Server::keyslot(&dir, &["--save", "", "--appendonly", "yes"]);
    let replica = common::Server::redis(&dir, &[]);
    replica.cli(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]);
    // The first sync must be over before the scripts run: a snapshot taken after the
    // REPL_NONE script would carry its key to the replica like any other data.
    assert!(
        common::wait_until(std::time::Duration::from_secs(20), || {
            replica
                .cli(&["INFO", "replication"])
                .contains("master_link_status:up")
        }),
        "the replica's first sync"
    );
    let mut c = RawConn::connect(master.port);
    c.call(&[
        "EVAL",
        "redis.call('set', KEYS[1], '1') redis.call('incr', KEYS[1]) redis.call('get', KEYS[1]) return 1",
        "1",
        "k",
    ]);
    c.call(&["EVAL", "redis.call('set', 'single', 'v') return 1", "0"]);
    c.call(&[
        "EVAL",
        "redis.set_repl(redis.REPL_NONE) redis.call('set', 'local', 'v') return 1",
        "0",
    ]);
    c.call(&["EVAL", "return redis.call('get', 'k')", "0"]);
    let aof_dir = master.dir.join("appendonlydir");
    let mut text = String::new();
    for entry in std::fs::read_dir(&aof_dir).expect("aof dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".incr.aof") {
            let bytes = std::fs::read(entry.path()).expect("aof");
            text = String::from_utf8_lossy(&bytes).replace("\r\n", " ");
        }
    }
    assert!(
        text.contains("MULTI *3 $3 SET $1 k $1 1 *2 $4 incr $1 k *1 $4 EXEC"),
        "effects of the first script, wrapped: {text}"
    );
    assert!(
        text.contains("*3 $3 SET $6 single $1 v") && !text.contains("single $1 v *1 $4 EXEC"),
        "one effect, not wrapped: {text}"
    );
    assert!(!text.contains("local"), "REPL_NONE kept it out: {text}");
    assert!(
        !text.contains("EVAL"),
        "scripts are not replicated verbatim: {text}"
    );
    assert!(
        common::wait_until(std::time::Duration::from_secs(10), || {
            replica.cli(&["GET", "k"]).trim() == "2"
                && replica.cli(&["GET", "single"]).trim() == "v"
        }),
        "the replica applied the effects"
    );
    assert_eq!(replica.cli(&["EXISTS", "local"]).trim(), "0");
}

/// XREAD / XREADGROUP with BLOCK are refused from scripts, with the command name as called.
#[test]
fn xread_block_refused_matches_redis() {
    compare_lines(
        "lua_xread_block",
        r#"
XADD s 1-1 f v
XGROUP CREATE s g 0
EVAL 'return redis.pcall("xread","BLOCK",0,"STREAMS","s","$")' 1 s
EVAL 'return redis.pcall("XREADGROUP","group","g","c","BLOCK",0,"STREAMS","s",">")' 1 s
EVAL 'return redis.pcall("xread","COUNT",1,"STREAMS","s","0")' 1 s
"#,
    );
}

/// FUNCTION FLUSH's argument errors.
#[test]
fn function_flush_arguments_match_redis() {
    compare_lines(
        "lua_function_flush_args",
        r#"
FUNCTION FLUSH bad_arg
FUNCTION FLUSH sync extra_arg
FUNCTION FLUSH ASYNC
"#,
    );
}
