//! A real PostgreSQL server per test: [`Postgres::start`] runs `initdb` and `pg_ctl` on a
//! temporary folder and a free port on `127.0.0.1`; [`Postgres::standby`] adds a streaming
//! replica of it, [`Postgres::promote`] and [`Postgres::kill`] drive failovers. Dropping a
//! [`Postgres`] stops its server and removes its folder.
//!
//! ```no_run
//! let Some(primary) = weaver_testkit::postgres::Postgres::start() else {
//!     return; // The binaries are absent: the skip line is printed already.
//! };
//! let url = primary.database("notes");
//! let standby = primary.standby();
//! assert_eq!(standby.psql("postgres", "SELECT pg_is_in_recovery()"), "t");
//! # let _ = url;
//! ```
//!
//! The binaries come from `WEAVER_PG_BIN` when it is set (a wrong value panics rather than
//! skips, so a CI run that asked for PostgreSQL cannot silently skip it), else from the
//! highest version under `/usr/lib/postgresql/*/bin` (Debian's layout), else from `PATH`.
//! `initdb` refuses to run as root, so under root every server command runs as the `postgres`
//! OS user through `runuser`, on a folder chowned to it. Databases are made with the `psql`
//! binary: this crate has no PostgreSQL client library on purpose.
//!
//! Every command is bounded by [`BOUND`] (`pg_ctl -t`, and a deadline on each child process).
//! The servers run with `fsync = off` for speed: a `kill -9` of the postmaster loses nothing
//! (the kernel still holds the writes), only a machine crash would. `synchronous_commit` stays
//! on, so a commit acknowledged before [`Postgres::kill`] survives it.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::BOUND;

/// The line printed when the binaries are absent.
const SKIP: &str = "skipping: PostgreSQL not found (set WEAVER_PG_BIN or install postgresql-15)";

/// The binaries the fixture needs next to each other (`psql` may live elsewhere).
const SERVER_TOOLS: [&str; 4] = ["initdb", "pg_ctl", "postgres", "pg_basebackup"];

/// How many fresh ports a start tries when another process takes the free one first.
const PORT_ATTEMPTS: usize = 3;

/// One running PostgreSQL server (a primary or a standby) in its own temporary folder.
pub struct Postgres {
    tools: Tools,
    port: u16,
    /// Holds `data/` (the cluster), `server.log` and the Unix socket.
    tmp: TempDir,
}

impl Postgres {
    /// Starts a fresh server: `initdb` with trust auth (local, and host and replication from
    /// `127.0.0.1`), the socket in its temporary folder, `wal_level = replica`,
    /// `max_wal_senders = 4`, `hot_standby = on`, `fsync = off`, on a free port of `127.0.0.1`.
    ///
    /// Returns `None`, after printing one line to stderr, when the binaries are absent; panics
    /// with the server log's tail when they are present but the server does not start.
    pub fn start() -> Option<Postgres> {
        let Some(tools) = Tools::find() else {
            eprintln!("{SKIP}");
            return None;
        };
        let tmp = tools.owned_tempdir();
        let data = tmp.path().join("data");
        let out = tools
            .server_command("initdb", tmp.path())
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
            .arg("--no-sync")
            .output_bounded()
            .unwrap_or_else(|e| panic!("initdb: {e}"));
        assert!(
            out.ok,
            "initdb of `{}` failed:\n{}",
            data.display(),
            out.all()
        );
        // Rewritten in place, so the files keep their owner (the server's user).
        write_existing(&data.join("pg_hba.conf"), &hba("host"));
        append(
            &data.join("postgresql.conf"),
            "\n# weaver-testkit\n\
             listen_addresses = '127.0.0.1'\n\
             fsync = off\n\
             wal_level = replica\n\
             max_wal_senders = 4\n\
             hot_standby = on\n\
             # In the data folder rather than /dev/shm: removed with it even after a kill -9,\n\
             # and not bounded by a container's small /dev/shm.\n\
             dynamic_shared_memory_type = mmap\n",
        );
        Some(Self::launch(tools, tmp))
    }

    /// A libpq URL to a new, empty database `name` on this server, for the superuser `postgres`
    /// without a password: `postgresql://postgres@127.0.0.1:PORT/NAME`.
    ///
    /// `name` is ASCII letters, digits, `_` and `-`, so the URL needs no escaping.
    pub fn database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && name.len() < 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "database name `{name}`: expected 1 to 63 ASCII letters, digits, `_` or `-`"
        );
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        format!("postgresql://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The server's port on `127.0.0.1`.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `sql` in `database` through `psql` (unaligned, tuples only, stopping at the first
    /// error) and returns its output, trimmed: `SELECT pg_is_in_recovery()` gives `t` or `f`.
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let out = self
            .psql_command(database, sql)
            .output_bounded()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(
            out.ok,
            "psql on port {} (database `{database}`) failed for `{sql}`:\n{}",
            self.port,
            out.all()
        );
        out.stdout.trim().to_owned()
    }

    /// Starts a streaming standby of this server (`pg_basebackup -R -X stream` into a new
    /// temporary folder, on its own free port); dropping it stops it too.
    pub fn standby(&self) -> Postgres {
        let tools = self.tools.clone();
        let tmp = tools.owned_tempdir();
        let data = tmp.path().join("data");
        let out = tools
            .server_command("pg_basebackup", tmp.path())
            .arg("-D")
            .arg(&data)
            .args(["-R", "-X", "stream", "-c", "fast", "--no-sync"])
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .env("PGCONNECT_TIMEOUT", "10")
            .output_bounded()
            .unwrap_or_else(|e| panic!("pg_basebackup: {e}"));
        assert!(
            out.ok,
            "pg_basebackup from port {} failed:\n{}",
            self.port,
            out.all()
        );
        // The copied postgresql.conf names the primary's port and socket folder: `launch`
        // appends this server's, and the last line wins.
        Self::launch(tools, tmp)
    }

    /// Turns TLS on with `cert_pem` (the server's certificate chain) and `key_pem` (its private
    /// key), lets TCP clients from `127.0.0.1` in only over TLS (`hostssl`; plain connections
    /// are refused by `pg_hba.conf`), and reloads the server (`pg_ctl reload`), waiting until
    /// it uses the new settings.
    pub fn require_tls(&self, cert_pem: &str, key_pem: &str) {
        let data = self.data();
        for (name, content) in [("server.crt", cert_pem), ("server.key", key_pem)] {
            let path = data.join(name);
            std::fs::write(&path, content).unwrap_or_else(|e| panic!("`{}`: {e}", path.display()));
            // The server refuses a key others can read, and must own it.
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .unwrap_or_else(|e| panic!("chmod `{}`: {e}", path.display()));
            if let Some((uid, gid)) = self.tools.run_as {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("chown `{}`: {e}", path.display()));
            }
        }
        write_existing(&data.join("pg_hba.conf"), &hba("hostssl"));
        append(
            &data.join("postgresql.conf"),
            "\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        );
        let out = self
            .pg_ctl(&["reload"])
            .output_bounded()
            .unwrap_or_else(|e| panic!("pg_ctl reload: {e}"));
        assert!(out.ok, "pg_ctl reload failed:\n{}", out.all());
        // The reload is asynchronous: wait until the server reports TLS on.
        let deadline = std::time::Instant::now() + BOUND;
        while self.psql("postgres", "SHOW ssl") != "on" {
            assert!(
                std::time::Instant::now() < deadline,
                "TLS not on after reload:\n{}",
                self.log_tail()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Promotes a standby to a primary (`pg_ctl promote -w`).
    pub fn promote(&self) {
        let out = self
            .pg_ctl(&["promote", "-w"])
            .output_bounded()
            .unwrap_or_else(|e| panic!("pg_ctl promote: {e}"));
        assert!(
            out.ok,
            "pg_ctl promote on port {} failed:\n{}{}",
            self.port,
            out.all(),
            self.log_tail()
        );
    }

    /// `kill -9` of the postmaster (its pid from `postmaster.pid`), for failover tests.
    ///
    /// Returns once its children have exited too (they notice the postmaster's death), so the
    /// port is closed and nothing writes to the data folder any more.
    pub fn kill(&self) {
        let pid_file = self.data().join("postmaster.pid");
        let pid_text = std::fs::read_to_string(&pid_file)
            .unwrap_or_else(|e| panic!("no server to kill: `{}`: {e}", pid_file.display()));
        let pid = postmaster_pid(&pid_text)
            .unwrap_or_else(|| panic!("`{}`: no pid in {pid_text:?}", pid_file.display()));
        // Read before the kill: once the postmaster is gone its children are re-parented.
        let mut pids = children(pid);
        pids.push(pid);
        let out = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .output_bounded()
            .unwrap_or_else(|e| panic!("kill: {e}"));
        assert!(out.ok, "kill -9 {pid} failed:\n{}", out.all());
        let deadline = Instant::now() + BOUND;
        while pids.iter().any(|&p| alive(p)) {
            assert!(
                Instant::now() < deadline,
                "the processes of the killed postmaster {pid} still run after {BOUND:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        // The postmaster never removes its small System V segment: a crash leaks it. The
        // seventh line of postmaster.pid holds its key and id; errors are of no consequence.
        if let Some(shmid) = pid_text
            .lines()
            .nth(6)
            .and_then(|line| line.split_whitespace().nth(1))
        {
            let _ = Command::new("ipcrm").args(["-m", shmid]).output_bounded();
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`); nothing to do when it is not running (after
    /// [`Postgres::kill`], or a second call).
    pub fn stop(&self) {
        if let Err(e) = self.try_stop("fast") {
            panic!("{e}");
        }
    }

    /// Starts the cluster in `tmp/data` on a free port (a few fresh ones if another process
    /// takes it first), with its socket in `tmp`.
    fn launch(tools: Tools, tmp: TempDir) -> Postgres {
        let mut postgres = Postgres {
            tools,
            port: 0,
            tmp,
        };
        let conf = postgres.data().join("postgresql.conf");
        append(
            &conf,
            &format!(
                "unix_socket_directories = '{}'\n",
                postgres
                    .tmp
                    .path()
                    .display()
                    .to_string()
                    .replace('\'', "''")
            ),
        );
        let log = postgres.log();
        for attempt in 1..=PORT_ATTEMPTS {
            postgres.port = free_port();
            append(&conf, &format!("port = {}\n", postgres.port));
            let log_before = std::fs::metadata(&log).map_or(0, |m| m.len());
            let out = postgres
                .pg_ctl(&["start", "-w", "-l"])
                .arg(&log)
                .output_bounded()
                .unwrap_or_else(|e| panic!("pg_ctl start: {e}"));
            if out.ok {
                return postgres;
            }
            let log_text = std::fs::read(&log).unwrap_or_default();
            let this_attempt = log_text
                .get(usize::try_from(log_before).unwrap_or(0)..)
                .unwrap_or_default();
            let taken = String::from_utf8_lossy(this_attempt).contains("Address already in use");
            if !(taken && attempt < PORT_ATTEMPTS) {
                panic!(
                    "PostgreSQL did not start on 127.0.0.1:{} (data `{}`):\n{}{}",
                    postgres.port,
                    postgres.data().display(),
                    out.all(),
                    postgres.log_tail()
                );
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `pg_ctl stop -m mode` when the server runs; the error says what failed.
    fn try_stop(&self, mode: &str) -> Result<(), String> {
        if !self.running()? {
            return Ok(());
        }
        let out = self.pg_ctl(&["stop", "-w", "-m", mode]).output_bounded()?;
        if out.ok {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl stop -m {mode} on port {} failed:\n{}{}",
                self.port,
                out.all(),
                self.log_tail()
            ))
        }
    }

    /// Whether the postmaster of `postmaster.pid` runs. Not `pg_ctl status` where `/proc` tells:
    /// it counts a killed postmaster as running while it is a zombie, and a container's init
    /// may take its time to reap it.
    fn running(&self) -> Result<bool, String> {
        let Ok(pid_text) = std::fs::read_to_string(self.data().join("postmaster.pid")) else {
            return Ok(false);
        };
        if Path::new("/proc/self").exists() {
            return Ok(postmaster_pid(&pid_text).is_some_and(alive));
        }
        // `pg_ctl status` exits 3 when no server runs.
        Ok(self.pg_ctl(&["status"]).output_bounded()?.ok)
    }

    /// `pg_ctl -D data -t BOUND <args>`, as the server's owner.
    fn pg_ctl(&self, args: &[&str]) -> Command {
        let mut command = self.tools.server_command("pg_ctl", self.tmp.path());
        // The options first, so the caller may append a value to its last argument (`-l`).
        command
            .arg("-D")
            .arg(self.data())
            .args(["-t", &BOUND.as_secs().to_string()])
            .args(args);
        command
    }

    fn psql_command(&self, database: &str, sql: &str) -> Command {
        let mut command = Command::new(&self.tools.psql);
        command
            .current_dir(self.tmp.path())
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .args(["-d", database, "-c", sql])
            .env("PGCONNECT_TIMEOUT", "10");
        command
    }

    fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.tmp.path().join("server.log")
    }

    /// The last lines of the server log, for failure messages.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines
            .get(lines.len().saturating_sub(30)..)
            .unwrap_or_default();
        format!(
            "--- {} (last {} lines) ---\n{}\n",
            self.log().display(),
            tail.len(),
            tail.join("\n")
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Never panic here: a drop during a failed test's unwinding would abort the run.
        if self.try_stop("fast").is_err() {
            let _ = self.try_stop("immediate");
        }
    }
}

/// Where the binaries are and whom the server runs as.
#[derive(Clone)]
struct Tools {
    /// Holds [`SERVER_TOOLS`].
    bin: PathBuf,
    psql: PathBuf,
    /// The `postgres` OS user's uid and gid when this process is root (`initdb` refuses root).
    run_as: Option<(u32, u32)>,
}

impl Tools {
    /// `None` when no folder holds the server binaries; panics when `WEAVER_PG_BIN` names one
    /// that does not.
    fn find() -> Option<Tools> {
        let bin = match std::env::var_os("WEAVER_PG_BIN") {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                assert!(
                    has_server(&dir),
                    "WEAVER_PG_BIN=`{}`: expected a folder with {}",
                    dir.display(),
                    SERVER_TOOLS.join(", ")
                );
                dir
            }
            None => debian_bin().or_else(|| on_path("pg_ctl").filter(|dir| has_server(dir)))?,
        };
        let psql = Some(bin.join("psql"))
            .filter(|p| p.is_file())
            .or_else(|| Some(PathBuf::from("/usr/bin/psql")).filter(|p| p.is_file()))
            .or_else(|| on_path("psql").map(|dir| dir.join("psql")))
            .unwrap_or_else(|| {
                panic!(
                    "PostgreSQL server binaries in `{}`, but no psql there, in /usr/bin or on PATH",
                    bin.display()
                )
            });
        let run_as = (id(&["-u"]) == 0).then(|| {
            let user = |flag| id(&[flag, "postgres"]);
            (user("-u"), user("-g"))
        });
        Some(Tools { bin, psql, run_as })
    }

    /// `bin/tool`, run as the server's owner (through `runuser` under root), in `cwd`: the
    /// `postgres` user may not be allowed into the test's own working folder.
    fn server_command(&self, tool: &str, cwd: &Path) -> Command {
        let program = self.bin.join(tool);
        let mut command = if self.run_as.is_some() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        };
        command.current_dir(cwd);
        command
    }

    /// A new temporary folder the server's owner can write. Under root it is chowned to
    /// `postgres`; when the `postgres` user cannot reach the usual temporary folder (a `TMPDIR`
    /// below `/root`), the folder goes to `/tmp` instead.
    fn owned_tempdir(&self) -> TempDir {
        let make = |parent: &Path| {
            let tmp = tempfile::Builder::new()
                .prefix("weaver-pg-")
                .tempdir_in(parent)
                .unwrap_or_else(|e| panic!("a temporary folder in `{}`: {e}", parent.display()));
            if let Some((uid, gid)) = self.run_as {
                std::os::unix::fs::chown(tmp.path(), Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("chown postgres `{}`: {e}", tmp.path().display()));
            }
            tmp
        };
        let tmp = make(&std::env::temp_dir());
        if self.run_as.is_none() || self.writable_by_owner(tmp.path()) {
            return tmp;
        }
        let tmp = make(Path::new("/tmp"));
        assert!(
            self.writable_by_owner(tmp.path()),
            "the postgres user cannot write `{}`",
            tmp.path().display()
        );
        tmp
    }

    fn writable_by_owner(&self, dir: &Path) -> bool {
        Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(dir)
            .current_dir(dir)
            .output_bounded()
            .is_ok_and(|out| out.ok)
    }
}

/// The highest version's `bin` under `/usr/lib/postgresql` (Debian's `postgresql-NN`).
fn debian_bin() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: Vec<u32> = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse().ok())
                .collect::<Option<_>>()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

fn has_server(dir: &Path) -> bool {
    SERVER_TOOLS.iter().all(|tool| dir.join(tool).is_file())
}

/// The first `PATH` folder holding `program`.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| dir.join(program).is_file())
}

/// `id <args>` as a number; panics when it fails (`id -u postgres` without such a user).
fn id(args: &[&str]) -> u32 {
    let out = Command::new("id")
        .args(args)
        .output_bounded()
        .unwrap_or_else(|e| panic!("id: {e}"));
    assert!(
        out.ok,
        "`id {}` failed (running as root, the server needs a `postgres` OS user): {}",
        args.join(" "),
        out.all()
    );
    out.stdout
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("`id {}` printed {:?}: {e}", args.join(" "), out.stdout))
}

/// A port of `127.0.0.1` that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The pid on the first line of a `postmaster.pid`.
fn postmaster_pid(pid_file: &str) -> Option<u32> {
    pid_file.lines().next()?.trim().parse().ok()
}

/// The children of `pid` (Linux's `/proc`; none elsewhere, and then nobody waits for them).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Whether `pid` still runs: a zombie does not, as nobody may reap it (a container's init).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// `pg_hba.conf`: trust over the socket, and over TCP from `127.0.0.1` with `tcp` (`host`, or
/// `hostssl` for TLS only), for connections and replication alike.
fn hba(tcp: &str) -> String {
    format!(
        "local all all trust\n{tcp} all all 127.0.0.1/32 trust\n\
         local replication all trust\n{tcp} replication all 127.0.0.1/32 trust\n"
    )
}

fn write_existing(path: &Path, content: &str) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap_or_else(|e| panic!("`{}`: {e}", path.display()));
    std::io::Write::write_all(&mut file, content.as_bytes())
        .unwrap_or_else(|e| panic!("`{}`: {e}", path.display()));
}

fn append(path: &Path, content: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("`{}`: {e}", path.display()));
    std::io::Write::write_all(&mut file, content.as_bytes())
        .unwrap_or_else(|e| panic!("`{}`: {e}", path.display()));
}

/// What a child process did.
struct Ran {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Ran {
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

trait OutputBounded {
    /// Runs the command to its end, stdin closed and output captured, for at most [`BOUND`]
    /// (then it is killed); the error says which command could not start or did not end.
    fn output_bounded(&mut self) -> Result<Ran, String>;
}

impl OutputBounded for Command {
    fn output_bounded(&mut self) -> Result<Ran, String> {
        let mut child = self
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {self:?}: {e}"))?;
        // Read on threads, so a full pipe cannot stall the child while we wait for it.
        let read = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut text);
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
        let deadline = Instant::now() + BOUND;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // The readers are left behind: a grandchild may still hold the pipes.
                    return Err(format!("{self:?} did not end within {BOUND:?}"));
                }
                Err(e) => return Err(format!("waiting for {self:?}: {e}")),
            }
        };
        Ok(Ran {
            ok: status.success(),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `f` every 20 ms until it returns `true`, for at most [`BOUND`].
    fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + BOUND;
        while !f() {
            assert!(Instant::now() < deadline, "{what}: not within {BOUND:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_standby_streams_and_takes_over_after_a_kill() {
        let Some(primary) = Postgres::start() else {
            return;
        };
        let url = primary.database("fixture-db");
        assert_eq!(
            url,
            format!(
                "postgresql://postgres@127.0.0.1:{}/fixture-db",
                primary.port()
            )
        );
        primary.psql(
            "fixture-db",
            "CREATE TABLE t (v int); INSERT INTO t VALUES (1)",
        );
        assert_eq!(primary.psql("postgres", "SELECT pg_is_in_recovery()"), "f");

        let standby = primary.standby();
        assert_ne!(standby.port(), primary.port());
        assert_eq!(standby.psql("postgres", "SELECT pg_is_in_recovery()"), "t");
        // Written after the base backup: it reaches the standby by streaming only.
        primary.psql("fixture-db", "INSERT INTO t VALUES (2)");
        wait_until("the second row on the standby", || {
            standby.psql("fixture-db", "SELECT count(*) FROM t") == "2"
        });

        primary.kill();
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", primary.port())).is_err(),
            "the killed primary still accepts connections"
        );
        standby.promote();
        assert_eq!(standby.psql("postgres", "SELECT pg_is_in_recovery()"), "f");
        standby.psql("fixture-db", "INSERT INTO t VALUES (3)");
        assert_eq!(standby.psql("fixture-db", "SELECT sum(v) FROM t"), "6");

        // Idempotent, as the drops do it again.
        primary.stop();
        standby.stop();
        standby.stop();
    }
}
