//! Child processes the harness owns: each in its own process group, so that
//! stopping `cargo lambda watch` also stops the functions it spawned, and
//! reaped with `wait4(2)`, whose rusage gives the exact CPU time of a
//! process that has ended (all its threads, µs resolution). While it runs,
//! its CPU-time clock (`cpu_now`) gives the same user + system total to the
//! nanosecond, so the CPU of each invocation is a difference of two reads.
//! Peak RSS comes from `/proc/PID/status` just before the stop (see
//! `peak_rss_kb`).

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

    /// User + system CPU time of all the process's threads so far, to the
    /// nanosecond: the process's CPU-time clock (`clock_getcpuclockid(3)`,
    /// then `clock_gettime(2)`), the same total `wait4`'s rusage reports
    /// once it has ended. `/proc/PID/stat` has it too, but in 10 ms ticks,
    /// far coarser than one warm invocation.
    pub fn cpu_now(&self) -> Option<Duration> {
        cpu_clock(self.pid)
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

fn cpu_clock(pid: i32) -> Option<Duration> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: a pointer to a local; `pid` is a live child of this process.
    if unsafe { libc::clock_getcpuclockid(pid, &mut clock) } != 0 {
        return None;
    }
    // SAFETY: timespec is plain old data, fully written on success.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id from above and a pointer to a local.
    if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
        return None;
    }
    Some(Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPU clock of a child counts its work, to well under a
    /// millisecond, and agrees with what `wait4` reports when it ends.
    #[test]
    fn cpu_clock_follows_a_busy_child_and_agrees_with_wait4() {
        let log = std::env::temp_dir().join(format!("bench-cpu-{}.log", std::process::id()));
        // About 0.3 s of pure CPU, then a sleep the clock must not count.
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 0.3",
        ]);
        let mut child = Child::spawn("busy", &mut cmd, &log).unwrap();
        let first = child.cpu_now().unwrap();
        std::thread::sleep(Duration::from_millis(150));
        let later = child.cpu_now().unwrap();
        assert!(later > first, "{later:?} after {first:?}");
        let mut last = later;
        while child.exited().is_none() {
            if let Some(now) = child.cpu_now() {
                assert!(now >= last, "the clock went back: {now:?} < {last:?}");
                last = now;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let total = child.exited().unwrap().cpu;
        // The last read came at most one poll before the exit.
        assert!(total >= last, "{total:?} < {last:?}");
        assert!(
            total - last < Duration::from_millis(50),
            "{total:?} vs {last:?}"
        );
        assert!(total > Duration::from_millis(50), "{total:?}");
        let _ = std::fs::remove_file(&log);
    }
}
