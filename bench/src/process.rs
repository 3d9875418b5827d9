//! Child processes the harness owns: each in its own process group, so that
//! stopping `cargo lambda watch` also stops the functions it spawned, and
//! reaped with `wait4(2)`, whose rusage gives the exact CPU time of a
//! process that has ended (all its threads, µs resolution). Peak RSS comes
//! from `/proc/PID/status` just before the stop (see `peak_rss_kb`).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a process used over its whole life.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rusage {
    pub cpu: Duration,
    pub max_rss_kb: u64,
}

/// A snapshot of a running process, from `/proc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    /// User + system time of all threads so far, in clock ticks (10 ms):
    /// only ever subtracted from an exact `wait4` total over many calls.
    pub cpu: Duration,
}

pub struct Child {
    pid: i32,
    name: String,
    reaped: Option<Rusage>,
}

impl Child {
    /// Starts `cmd` in a new process group, stdin closed, output to `log`.
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Result<Self, String> {
        let out = File::create(log).map_err(|e| format!("{name}: log {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{name}: log {}: {e}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        // std's Child neither waits nor kills on drop; `wait4` below reaps.
        let pid = i32::try_from(child.id()).map_err(|_| format!("{name}: pid out of range"))?;
        Ok(Child {
            pid,
            name: name.to_owned(),
            reaped: None,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// `Some` once the process has exited (it is reaped then).
    pub fn exited(&mut self) -> Option<Rusage> {
        if self.reaped.is_none() {
            self.reaped = wait4(self.pid, libc::WNOHANG);
        }
        self.reaped
    }

    /// CPU time so far, while it runs.
    pub fn live(&self) -> Option<Live> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the `(comm)`, which may contain spaces.
        let rest = stat.rsplit_once(')')?.1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
        // USER_HZ is 100 on every Linux ABI /proc reports in.
        Some(Live {
            cpu: Duration::from_millis(ticks * 10),
        })
    }

    /// The process's peak RSS so far (`VmHWM`), while it runs. This, not
    /// `wait4`'s `ru_maxrss`, is a function's own peak: the child is spawned
    /// with vfork semantics (posix_spawn), and Linux carries the high-water
    /// mark of the address space it leaves at `exec` — the harness's — into
    /// `ru_maxrss`, so a function smaller than the harness would report the
    /// harness's size.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Stops the whole group (SIGTERM, then SIGKILL after `grace`) and
    /// returns the main process's lifetime usage.
    pub fn stop(&mut self, grace: Duration) -> Option<Rusage> {
        if self.exited().is_some() {
            signal_group(self.pid, libc::SIGKILL);
            return self.reaped;
        }
        let sig = if grace.is_zero() {
            libc::SIGKILL
        } else {
            libc::SIGTERM
        };
        signal_group(self.pid, sig);
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if self.exited().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Whatever the group left behind (e.g. a function `watch` started).
        signal_group(self.pid, libc::SIGKILL);
        if self.reaped.is_none() {
            self.reaped = wait4(self.pid, 0);
        }
        if self.reaped.is_none() {
            eprintln!("bench: could not reap {} (pid {})", self.name, self.pid);
        }
        self.reaped
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            self.stop(Duration::from_secs(3));
        } else {
            signal_group(self.pid, libc::SIGKILL);
        }
    }
}

fn signal_group(pid: i32, sig: i32) {
    // SAFETY: kill(2) takes plain integers; a negative pid addresses the
    // process group this harness created for the child, nothing else.
    unsafe {
        libc::kill(-pid, sig);
    }
}

fn wait4(pid: i32, flags: i32) -> Option<Rusage> {
    let mut status = 0;
    // SAFETY: rusage is plain old data, fully written by wait4 on success.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; `pid` is our own child.
    let r = unsafe { libc::wait4(pid, &mut status, flags, &mut ru) };
    if r != pid {
        return None;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    Some(Rusage {
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        max_rss_kb: ru.ru_maxrss.max(0) as u64,
    })
}
