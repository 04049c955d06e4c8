"""A progress line on stderr: done / total, rate and time left. On a
terminal it redraws one line; otherwise (a log, a CI job) it prints a plain
line every tenth of the way or every 10 seconds, whichever comes first."""

import sys
import time


def _duration(seconds):
    seconds = int(seconds + 0.5)
    if seconds >= 3600:
        return "%d:%02d:%02d" % (seconds // 3600, seconds // 60 % 60, seconds % 60)
    return "%d:%02d" % (seconds // 60, seconds % 60)


class Progress:
    def __init__(self, total, label, unit="rows", stream=None, width=30):
        self.total = max(0, int(total))
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.started = time.monotonic()
        self._last_print = 0.0
        self._last_tenth = -1
        self._closed = False

    def line(self):
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        text = "%s %d/%d %s, %.0f/s, %s" % (self.label, self.done, self.total, self.unit, rate,
                                           _duration(elapsed))
        if self.total:
            if self.done < self.total and rate > 0:
                text += ", %s left" % _duration((self.total - self.done) / rate)
            if self.tty:
                filled = self.width * self.done // self.total
                text = "[%s%s] %s" % ("#" * filled, "." * (self.width - filled), text)
        return text

    def update(self, done):
        self.done = done
        now = time.monotonic()
        if self.tty:
            if now - self._last_print >= 0.2 or done >= self.total:
                self.stream.write("\r" + self.line() + "\x1b[K")
                self.stream.flush()
                self._last_print = now
            return
        tenth = 10 * done // self.total if self.total else 0
        if tenth > self._last_tenth or now - self._last_print >= 10.0:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_print = now
            self._last_tenth = tenth

    def advance(self, n=1):
        self.update(self.done + n)

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
        elif self._last_tenth < 10 or self.done != self.total:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
