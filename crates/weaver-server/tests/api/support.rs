//! The server of these tests: [`weaver_server::run`] on a listener of `127.0.0.1:0`, spawned
//! on the test's runtime with a configuration read from real files and a private environment
//! (never the process's), stopped through its shutdown token when the [`Server`] drops.

use std::collections::HashMap;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;
use weaver_server::Service;
use weaver_server::config::{Loader, Overrides};
use weaver_service::logging::LogHandle;

pub use weaver_testkit::{Http, Sandbox, SseReader, VAULT, mkfifo};

/// How to start a server: `--vault PATH` or `--config FILE`, and `WEAVER__…` variables.
pub struct Start {
    file: Option<PathBuf>,
    overrides: Overrides,
    env: HashMap<String, String>,
}

impl Start {
    /// Serves one vault folder as `default`, like `weaver serve --vault PATH`.
    pub fn vault(path: &Path) -> Self {
        Self {
            file: None,
            overrides: Overrides {
                vault: Some(path.to_path_buf()),
                ..Overrides::default()
            },
            env: HashMap::new(),
        }
    }

    /// Serves the vaults of a configuration file, like `weaver serve --config FILE`.
    pub fn config(file: &Path) -> Self {
        Self {
            file: Some(file.to_path_buf()),
            overrides: Overrides::default(),
            env: HashMap::new(),
        }
    }

    /// Sets a variable of the server's environment (`WEAVER__SERVER__MAX_BODY_BYTES`, ...).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Binds `127.0.0.1:0` and spawns the server on the current runtime; it listens on return.
    pub fn spawn(mut self) -> Server {
        self.overrides.listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let loader = Loader::new(self.file, self.overrides)
            .unwrap()
            .with_env(self.env);
        let config = loader.load().unwrap();
        let listener = std::net::TcpListener::bind(config.server.listen).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let service = Service {
            config,
            loader,
            log: LogHandle::detached(),
        };
        let shutdown = CancellationToken::new();
        tokio::spawn(weaver_server::run(listener, service, shutdown.clone()));
        Server {
            http: Http::new(format!("http://{addr}")),
            shutdown,
        }
    }
}

/// A running server; dropping it shuts it down.
pub struct Server {
    http: Http,
    shutdown: CancellationToken,
}

impl Deref for Server {
    type Target = Http;

    fn deref(&self) -> &Http {
        &self.http
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
