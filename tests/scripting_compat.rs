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
use compare_util::{split, start, start_debug};

/// Runs `script` on both servers (RESP2 then RESP3) and returns the differences.
fn compare_lines(tag: &str, script: &str) {
    let Some(p) = start(tag) else {
        return;
    };
    compare_on(&p, script);
}

/// [`compare_lines`] on servers already started.
fn compare_on(p: &compare_util::Pair, script: &str) {
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
        text.contains("MULTI *3 $3 set $1 k $1 1 *2 $4 incr $1 k *1 $4 EXEC"),
        "effects of the first script, wrapped: {text}"
    );
    assert!(
        text.contains("*3 $3 set $6 single $1 v") && !text.contains("single $1 v *1 $4 EXEC"),
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

/// A replication stream read the way Redis's suite reads one (`attach_to_replication_stream`):
/// SYNC, the snapshot skipped, then the commands as the master sends them.
struct ReplStream {
    conn: RawConn,
}

impl ReplStream {
    fn attach(port: u16) -> ReplStream {
        let mut conn = RawConn::connect(port);
        conn.send(&resp_command(&["SYNC"]));
        let mut s = ReplStream { conn };
        // Newlines keep the link alive while the snapshot is made; then `$<len>\r\n<rdb>`
        // with no CRLF after the payload.
        let len = loop {
            while s.conn.pending.first() == Some(&b'\n') {
                s.conn.pending.remove(0);
            }
            if let Some(end) = s.conn.pending.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&s.conn.pending[1..end]).into_owned();
                s.conn.pending.drain(..end + 2);
                break line.parse::<usize>().expect("snapshot length");
            }
            s.fill();
        };
        while s.conn.pending.len() < len {
            s.fill();
        }
        s.conn.pending.drain(..len);
        s
    }

    fn fill(&mut self) {
        use std::io::Read;
        let mut buf = [0u8; 65536];
        let n = self.conn.stream.read(&mut buf).expect("read the stream");
        assert!(n > 0, "the replication stream closed");
        self.conn.pending.extend_from_slice(&buf[..n]);
    }

    /// The commands up to and including `SET <marker> ...`, without SELECT and PING.
    fn until(&mut self, marker: &str) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        loop {
            let (reply, _) = self.conn.read_reply();
            let common::Resp::Array(Some(items)) = reply else {
                panic!("not a command in the stream: {reply:?}");
            };
            let argv: Vec<String> = items
                .iter()
                .map(|i| String::from_utf8_lossy(i.as_bytes().unwrap_or_default()).into_owned())
                .collect();
            let name = argv
                .first()
                .map(|n| n.to_ascii_lowercase())
                .unwrap_or_default();
            if name == "select" || name == "ping" {
                continue;
            }
            let end = name == "set" && argv.get(1).map(String::as_str) == Some(marker);
            out.push(argv);
            if end {
                return out;
            }
        }
    }
}

/// One stream command as text, with what differs between two runs masked: absolute times
/// (13 digits within ~11 days of now), the member SPOP picked, a DUMP payload.
fn masked(argv: &[String], now_ms: u64) -> String {
    let name = argv[0].to_ascii_lowercase();
    argv.iter()
        .enumerate()
        .map(|(i, a)| {
            let near_now = a.len() == 13
                && a.parse::<u64>()
                    .is_ok_and(|t| t.abs_diff(now_ms) < 1_000_000_000);
            if near_now {
                "<ms>".to_string()
            } else if (name == "srem" && i == 2) || (name == "restore" && i == 3) {
                "<x>".to_string()
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `lines` on one server while a SYNC stream is attached; what the stream carried.
/// `sleep <ms>` waits; `$DUMP` stands for the reply of the last DUMP.
fn stream_of(port: u16, lines: &str) -> Vec<String> {
    let mut stream = ReplStream::attach(port);
    let mut c = RawConn::connect(port);
    let mut dump: Vec<u8> = Vec::new();
    for line in lines.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let args = split(line);
        if args[0] == "sleep" {
            std::thread::sleep(std::time::Duration::from_millis(
                args[1].parse().unwrap_or(1),
            ));
            continue;
        }
        let argv: Vec<Vec<u8>> = args
            .iter()
            .map(|a| {
                if a == "$DUMP" {
                    dump.clone()
                } else {
                    a.replace("\\n", "\n").into_bytes()
                }
            })
            .collect();
        let (reply, raw) = c.call(&argv);
        assert!(
            !matches!(reply, common::Resp::Error(_)),
            "port {port}: {line}: {}",
            String::from_utf8_lossy(&raw)
        );
        if args[0].eq_ignore_ascii_case("dump") {
            dump = reply.as_bytes().unwrap_or_default().to_vec();
        }
    }
    c.call(&["SET", "end-of-test", "1"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    stream
        .until("end-of-test")
        .iter()
        .map(|a| masked(a, now))
        .collect()
}

/// The commands keyslot replicates are the ones redis-server replicates, in the same forms:
/// relative expire times as absolute ones (unit expire's "All TTL in commands are
/// propagated as absolute timestamp"), GETDEL as DEL (type/string), GETEX as PEXPIREAT /
/// PERSIST / DEL or nothing, SET without GET and with PXAT, INCRBYFLOAT as SET KEEPTTL,
/// SPOP as SREM per member or DEL, RESTORE with ABSTTL, commands that changed nothing left
/// out, a transaction wrapped only when it replicates several commands, lazily expired keys
/// as DEL (UNLINK under lazyfree), and the same inside scripts (unit scripting's "We can
/// call scripts rewriting client->argv from Lua").
#[test]
fn replication_stream_matches_redis() {
    let Some(p) = start_debug("repl_stream") else {
        return;
    };
    let lines = r#"
FLUSHALL
SET foo bar
GETDEL foo
GETDEL foo
SET foo bar
GETEX foo
GETEX foo PERSIST
GETEX foo EX 100
GETEX foo PERSIST
GETEX foo PXAT 100
DEL nokey
SET foo1 bar EX 200
SET foo1 bar PX 100000
SET foo1 bar NX
SET foo1 bar2 XX GET
set foo1 bar3 get keepttl
SET foo1 bar4 NX GET
SETNX foo1 x
SETEX foo1 100 bar
PSETEX foo1 100000 bar
GETSET foo1 v
INCRBYFLOAT f 1.5
INCRBYFLOAT f 1.5
HINCRBYFLOAT h f 1.5
EXPIRE foo2 100
SET foo2 bar
expire foo2 100 nx
EXPIRE foo2 100 NX
PEXPIRE foo2 200000 GT
PEXPIRE foo2 1000 GT
PERSIST foo2
PERSIST foo2
EXPIREAT foo2 100
SADD s a b c d e
SADD s a
SPOP s
SPOP s 2
SPOP s 0
SPOP s 10
SPOP s
SET foo5 bar
DUMP foo5
RESTORE foo6 100000 $DUMP
RESTORE foo7 0 $DUMP
RESTORE foo7 1 $DUMP REPLACE ABSTTL
RESTORE foo8 1 $DUMP ABSTTL
RESTORE foo9 99999999999999 $DUMP ABSTTL
MULTI
DEL nokey
DEL nokey2
EXEC
MULTI
SET m1 v
DEL nokey
EXEC
MULTI
SET m1 v
SET m2 v
EXEC
MULTI
SADD ms a b c
SPOP ms 2
EXEC
DEBUG SET-ACTIVE-EXPIRE 0
SET lazy v PX 1
sleep 5
GET lazy
CONFIG SET lazyfree-lazy-expire yes
SET lazy v PX 1
sleep 5
GET lazy
CONFIG SET lazyfree-lazy-expire no
CONFIG SET lazyfree-lazy-user-del yes
SET g v
GETDEL g
CONFIG SET lazyfree-lazy-user-del no
DEBUG SET-ACTIVE-EXPIRE 1
SADD myset a b c
EVAL 'return redis.call("spop", "myset")' 0
EVAL 'return redis.call("spop", KEYS[1], 1)' 1 myset
EVAL 'return redis.call("spop", KEYS[1])' 1 myset
EVAL 'return redis.call("spop", KEYS[1])' 1 myset
SET expirekey 1
EVAL 'return redis.call("expire", KEYS[1], ARGV[1])' 1 expirekey 300
EVAL 'redis.call("incrbyfloat", KEYS[1], 1)' 1 key
EVAL 'redis.call("set", KEYS[1], "1", "KEEPTTL")' 1 key
EVAL 'redis.call("del", "nokey") return redis.call("set", KEYS[1], "2")' 1 key
"#;
    let k = stream_of(p.keyslot.port, lines);
    let r = stream_of(p.redis.port, lines);
    assert_eq!(
        k, r,
        "replication streams differ\nkeyslot: {k:#?}\nredis:   {r:#?}"
    );
}

/// FUNCTION LOAD stops a library whose body runs past 500 ms (unit functions' "LIBRARIES -
/// load timeout"), even one that swallows errors with pcall, and the node serves FCALL and
/// EVAL normally afterwards; library metadata is split as Redis splits it (`name="foo"`),
/// and FUNCTION LOAD is refused past maxmemory (deny-oom).
#[test]
fn function_load_limits_match_redis() {
    compare_lines(
        "fn_load_limits",
        r#"
FUNCTION FLUSH
FUNCTION LOAD '#!lua name=lib\nlocal a = 1\nwhile 1 do a = a + 1 end'
FUNCTION LOAD '#!lua name=lib\nlocal a = 1\nwhile 1 do local ok = pcall(function() a = a + 1 end) end'
FUNCTION LOAD '#!lua name=lib2\nredis.register_function("f", function() local a = 0 for i=1,3000000 do a = a + 1 end return a end)'
FCALL f 0
EVAL 'local a = 0 for i=1,3000000 do a = a + 1 end return a' 0
FUNCTION LOAD REPLACE '#!lua name="foo"\nredis.register_function("foo", function() return 1 end)'
FUNCTION LOAD '#!lua name="baz\nredis.register_function("baz", function() return 1 end)'
FUNCTION LOAD '#!lua name="b"az\nredis.register_function("baz", function() return 1 end)'
FCALL foo 0
CONFIG SET maxmemory 1
FUNCTION LOAD REPLACE '#!lua name=test\nredis.register_function("f1", function() return 1 end)'
FUNCTION DELETE foo
CONFIG SET maxmemory 0
FUNCTION LOAD REPLACE '#!lua name=test\nredis.register_function("f1", function() return 1 end)'
FUNCTION FLUSH
"#,
    );
}

/// The sandbox tricks of unit scripting: the globals' metatable can be neither replaced nor
/// edited, precompiled code does not load, the libraries have no metatable to reach; scripts
/// see the time they started (a key with PX 1 outlives a DEBUG SLEEP inside the script).
#[test]
fn sandbox_tricks_match_redis() {
    let Some(p) = start_debug("lua_sandbox_tricks") else {
        return;
    };
    compare_on(
        &p,
        r#"
EVAL 'setmetatable(_G, {})' 0
EVAL 'local g = getmetatable(_G) g.__index = {}' 0
EVAL 'return type(getmetatable(_G))' 0
EVAL 'return setmetatable(redis, {})' 0
EVAL 'return type(getmetatable(cjson))' 0
EVAL 'return setmetatable(nil, {})' 0
EVAL 'return getmetatable()' 0
EVAL 'local t = setmetatable({}, {__index = function() return 7 end}) return t.x' 0
EVAL 'return loadstring(string.dump(function() return 1 end))()' 0
EVAL 'local f, e = loadstring(string.dump(function() return 1 end)) return e' 0
EVAL 'local f, e = loadstring(string.dump(function() return 1 end), "chunk") return e' 0
EVAL 'local s = string.dump(function() return 1 end) local done = false local f, e = load(function() if done then return nil end done = true return s end) return e' 0
EVAL 'return loadstring("return 5")()' 0
DEBUG SET-DISABLE-DENY-SCRIPTS 1
EVAL 'redis.call("SET", "key", "value", "PX", "1") redis.call("DEBUG", "SLEEP", "0.01") return redis.call("EXISTS", "key")' 0
EXISTS key
DEBUG SET-DISABLE-DENY-SCRIPTS 0
EVAL 'return redis.call("DEBUG", "SLEEP", "0")' 0
DEBUG SET-ACTIVE-EXPIRE 0
SET key value PX 1
DEBUG SLEEP 0.005
EXISTS key
SET key value PX 1
DEBUG SLEEP 0.005
EVAL 'return redis.call("EXISTS", "key")' 0
DEBUG SET-ACTIVE-EXPIRE 1
"#,
    );
}

/// DEBUG OBJECT describes a key past its TTL that nothing touched yet (active expiry off), as
/// Redis's raw dictionary lookup does; the next read then expires it.
#[test]
fn debug_object_sees_a_key_past_its_ttl() {
    let Some(p) = start_debug("debug_object_ttl") else {
        return;
    };
    for port in [p.keyslot.port, p.redis.port] {
        let mut c = RawConn::connect(port);
        c.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        c.call(&["SET", "key", "value", "PX", "1"]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let (reply, raw) = c.call(&["DEBUG", "OBJECT", "key"]);
        assert!(
            matches!(reply, common::Resp::Simple(_)),
            "port {port}: {:?}",
            String::from_utf8_lossy(&raw)
        );
        assert_eq!(c.call(&["EXISTS", "key"]).0, common::Resp::Int(0));
        c.call(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    }
}

/// min-replicas-to-write on a master with no replica: plain writes, a transaction's write,
/// write-flagged scripts and a compat script's write get -NOREPLICAS; reads and no-writes
/// scripts still run (unit scripting's "not enough good replicas").
#[test]
fn min_replicas_to_write_matches_redis() {
    compare_lines(
        "lua_min_replicas",
        r#"
SET x v
CONFIG SET min-replicas-to-write 1
CONFIG GET min-slaves-to-write
EVAL '#!lua flags=no-writes\nreturn redis.call("get", "x")' 1 x
EVAL 'return redis.call("get", "x")' 1 x
EVAL '#!lua\nreturn redis.call("get", "x")' 1 x
EVAL 'return redis.call("set", "x", 1)' 1 x
EVAL 'return redis.pcall("set", "x", 1)' 1 x
SET x 2
GET x
MULTI
GET x
SET x 3
EXEC
MULTI
GET x
EXEC
CONFIG SET min-replicas-max-lag 0
SET x 4
CONFIG SET min-replicas-max-lag 10
CONFIG SET min-replicas-to-write 0
SET x 5
GET x
"#,
    );
}

/// INFO commandstats counts a refused call as rejected, not as a call (a wrong arity at the
/// top level, a write refused inside a read-only script), a command that ran and failed as
/// a failed call, and INFO errorstats counts each error once where it happened (a script
/// that ends with the error of a command it called does not count it again), as Redis does
/// (unit scripting's "Consistent eval error reporting"). The times are not compared.
#[test]
fn rejected_calls_match_redis() {
    let Some(p) = start("cmdstat_rejected") else {
        return;
    };
    let stats = |port: u16| -> Vec<String> {
        let mut c = RawConn::connect(port);
        c.call(&["CONFIG", "RESETSTAT"]);
        c.call(&["SET", "x"]);
        c.call(&["GET", "x", "y"]);
        c.call(&["SET", "x", "1"]);
        c.call(&["LPUSH", "x", "1"]);
        c.call(&["EVAL_RO", "return redis.pcall('set', 'x', 'y')", "1", "x"]);
        c.call(&["EVAL", "return redis.call('select', 99)", "0"]);
        c.call(&["EVAL", "return redis.pcall('select', 99)['err']", "0"]);
        c.call(&["EVAL", "return redis.call('set', 'x')", "0"]);
        c.call(&["EVAL", "return redis.error_reply('MY custom')", "0"]);
        c.call(&["EVAL", "return redis.pcall('lpush', 'x', 1)", "0"]);
        c.call(&["FCALL", "nosuch", "0"]);
        let (info, _) = c.call(&["INFO", "commandstats"]);
        let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| {
                ["get", "set", "lpush", "eval", "eval_ro", "select", "fcall"]
                    .iter()
                    .any(|n| l.starts_with(&format!("cmdstat_{n}:")))
            })
            .map(|l| {
                l.split(',')
                    .filter(|f| !f.starts_with("usec"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        // The error stats: each error counted once, where it happened.
        let (info, _) = c.call(&["INFO", "errorstats"]);
        let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
        lines.extend(
            text.lines()
                .filter(|l| l.starts_with("errorstat_"))
                .map(String::from),
        );
        let (info, _) = c.call(&["INFO", "stats"]);
        let text = String::from_utf8_lossy(info.as_bytes().unwrap_or_default()).into_owned();
        lines.extend(
            text.lines()
                .filter(|l| l.starts_with("total_error_replies"))
                .map(String::from),
        );
        lines.sort();
        lines
    };
    let (k, r) = (stats(p.keyslot.port), stats(p.redis.port));
    assert_eq!(k, r, "commandstats / errorstats differ");
}

/// FUNCTION DUMP's payload is byte for byte redis-server's (the library code as an RDB
/// function record, the RDB version and the CRC64), so a payload taken from either server
/// restores on the other; FUNCTION RESTORE's policies (APPEND, REPLACE, FLUSH) and its
/// errors on a clash or a damaged payload match too.
#[test]
fn function_dump_matches_redis() {
    let Some(p) = start("lua_fdump") else {
        return;
    };
    let lib_a =
        "#!lua name=liba\nredis.register_function('fa', function(keys, args) return 'a' end)";
    let lib_a2 =
        "#!lua name=liba\nredis.register_function('fa', function(keys, args) return 'a2' end)";
    let lib_b = "#!lua name=libb\nredis.register_function{function_name='fb', callback=function() return 'b' end, flags={'no-writes'}}";
    let mut k = RawConn::connect(p.keyslot.port);
    let mut r = RawConn::connect(p.redis.port);
    let mut diffs = Vec::new();
    let mut both = |k: &mut RawConn, r: &mut RawConn, args: &[&[u8]], what: &str| {
        let (_, kraw) = k.call(args);
        let (_, rraw) = r.call(args);
        if kraw != rraw {
            diffs.push(format!(
                "{what}\n   keyslot: {:?}\n   redis:   {:?}",
                String::from_utf8_lossy(&kraw),
                String::from_utf8_lossy(&rraw)
            ));
        }
        (kraw, rraw)
    };
    // With no library loaded the payload is only the version and checksum.
    both(&mut k, &mut r, &[b"FUNCTION", b"FLUSH"], "FUNCTION FLUSH");
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"DUMP"],
        "FUNCTION DUMP (no libraries)",
    );
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"LOAD", lib_a.as_bytes()],
        "FUNCTION LOAD liba",
    );
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"DUMP"],
        "FUNCTION DUMP (liba)",
    );
    // Each server's payload, restored on the other.
    let (_, kdump) = k.call(&["FUNCTION", "DUMP"]);
    let (_, rdump) = r.call(&["FUNCTION", "DUMP"]);
    let payload = |raw: &[u8]| -> Vec<u8> {
        match common::parse_resp(raw) {
            Some((resp, _)) => resp.as_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
            None => Vec::new(),
        }
    };
    let (kpay, rpay) = (payload(&kdump), payload(&rdump));
    assert!(
        !kpay.is_empty() && !rpay.is_empty(),
        "FUNCTION DUMP gave no payload"
    );
    let mut damaged = rpay.clone();
    let last = damaged.len() - 1;
    damaged[last] ^= 0xff;
    let cases: Vec<(&str, Vec<&[u8]>)> = vec![
        (
            "RESTORE onto the same library (APPEND clashes)",
            vec![b"FUNCTION", b"RESTORE", &rpay],
        ),
        (
            "RESTORE onto the same library, REPLACE",
            vec![b"FUNCTION", b"RESTORE", &rpay, b"REPLACE"],
        ),
        (
            "RESTORE a damaged payload",
            vec![b"FUNCTION", b"RESTORE", &damaged],
        ),
        (
            "RESTORE a truncated payload",
            vec![b"FUNCTION", b"RESTORE", &rpay[..rpay.len() - 3]],
        ),
        (
            "RESTORE with a bad policy",
            vec![b"FUNCTION", b"RESTORE", &rpay, b"MERGE"],
        ),
    ];
    for (what, args) in &cases {
        both(&mut k, &mut r, args, what);
    }
    // Cross restore: redis's payload into keyslot, keyslot's into redis, after a FLUSH.
    both(&mut k, &mut r, &[b"FUNCTION", b"FLUSH"], "FUNCTION FLUSH");
    let (_, kraw) = k.call(&[b"FUNCTION".as_slice(), b"RESTORE", &rpay]);
    let (_, rraw) = r.call(&[b"FUNCTION".as_slice(), b"RESTORE", &kpay]);
    assert_eq!(
        String::from_utf8_lossy(&kraw),
        String::from_utf8_lossy(&rraw),
        "cross FUNCTION RESTORE"
    );
    both(
        &mut k,
        &mut r,
        &[b"FCALL", b"fa", b"0"],
        "FCALL fa after cross restore",
    );
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"LIST", b"WITHCODE"],
        "FUNCTION LIST WITHCODE after cross restore",
    );
    // FLUSH policy replaces everything; a second library appended beside it.
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"LOAD", b"REPLACE", lib_a2.as_bytes()],
        "FUNCTION LOAD REPLACE liba",
    );
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"RESTORE", &rpay, b"FLUSH"],
        "FUNCTION RESTORE FLUSH",
    );
    both(
        &mut k,
        &mut r,
        &[b"FCALL", b"fa", b"0"],
        "FCALL fa after RESTORE FLUSH",
    );
    both(&mut k, &mut r, &[b"FUNCTION", b"FLUSH"], "FUNCTION FLUSH");
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"LOAD", lib_b.as_bytes()],
        "FUNCTION LOAD libb",
    );
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"DUMP"],
        "FUNCTION DUMP (libb, with flags)",
    );
    both(
        &mut k,
        &mut r,
        &[b"FUNCTION", b"RESTORE", &rpay, b"APPEND"],
        "FUNCTION RESTORE APPEND",
    );
    both(&mut k, &mut r, &[b"FCALL_RO", b"fb", b"0"], "FCALL_RO fb");
    both(&mut k, &mut r, &[b"FCALL", b"fa", b"0"], "FCALL fa");
    assert!(
        diffs.is_empty(),
        "FUNCTION DUMP/RESTORE differ:\n{}",
        diffs.join("\n")
    );
}
