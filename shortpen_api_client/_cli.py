"""The ``shortpen`` command's implementation (click + rich); ``cli.main`` is its entry point."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar, cast

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar
from rich.table import Table

from . import _redact as redact
from ._body import DEFAULT_MAX_RESPONSE_BYTES
from ._client import ShortPen
from ._client_base import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    DEFAULT_WINDOW_DAYS,
)
from ._config import ENVIRONMENTS, TOKEN_ENV
from ._engine import Progress
from ._export import FORMATS
from ._jobs import DEFAULT_LOOKBACK_DAYS, ExportReport, SyncReport
from ._schema import EVENT
from ._spec import SPEC_SHA256, SPEC_VERSION
from ._version import __version__
from .errors import InvalidArgumentError, ShortPenError

F = TypeVar("F", bound=Callable[..., Any])
stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


def scrub(message: str) -> str:
    """Never print the token (in any form it may be quoted in), whatever an error message contains."""
    token = os.environ.get(TOKEN_ENV)
    return redact.scrub(message, token if token and len(token) >= 4 else None)


def fail(message: str, status: int) -> None:
    sys.stderr.write(f"shortpen: error: {scrub(message)}\n")
    sys.stderr.flush()
    raise SystemExit(status)


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread: like Ctrl-C's ``KeyboardInterrupt``, it unwinds
    the command, so an export's temporary file is removed and a sync releases its folder. A
    ``BaseException``, so that no ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """While the command runs, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    Python's default for them ends the process at once, leaving an export's temporary file behind.
    Only a signal whose handler is the default is taken over (``nohup`` ignores SIGHUP: it stays
    ignored). Once one has arrived, further ones are ignored, so the clean-up is not cut short
    (SIGKILL still ends the process). The command line installs this, not the library: a library
    call must not change a process's signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():  # signal.signal would raise
        yield
        return
    names = ("SIGTERM", "SIGHUP")  # SIGHUP: POSIX only
    signums = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {signum: signal.getsignal(signum) for signum in signums}
    taken = [signum for signum, handler in previous.items() if handler == signal.SIG_DFL]

    def handler(signum: int, frame: object) -> None:
        for other in taken:
            signal.signal(other, signal.SIG_IGN)
        raise Terminated(signum)

    for signum in taken:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum in taken:
            signal.signal(signum, previous[signum])


def run(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status instead of a traceback."""
    try:
        with signals_as_exceptions():
            cli.main(args=argv, prog_name="shortpen", standalone_mode=False)
    except Terminated as exc:
        sys.stderr.write(f"shortpen: terminated by {signal.Signals(exc.signum).name}{notes(exc)}\n")
        return 128 + exc.signum  # what a shell reports for a process ended by that signal
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
        return 2
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        sys.stderr.write(f"shortpen: error: {scrub(exc.format_message())}{hint}\n")
        return 2
    except click.Abort as exc:  # click's form of Ctrl-C: the KeyboardInterrupt is its cause
        sys.stderr.write(f"shortpen: interrupted{notes(exc.__cause__ or exc)}\n")
        return 130
    except click.ClickException as exc:
        sys.stderr.write(f"shortpen: error: {scrub(exc.format_message())}\n")
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt as exc:
        sys.stderr.write(f"shortpen: interrupted{notes(exc)}\n")
        return 130
    return 0


@contextmanager
def reported_errors() -> Iterator[None]:
    """Map the package's exceptions to one line on stderr and an exit status."""
    try:
        yield
    except InvalidArgumentError as exc:  # bad input: a date, an id, a format, a folder, the token
        fail(phrase(exc) + notes(exc), 2)
    except ImportError as exc:  # an optional dependency (pyarrow for Parquet)
        fail(str(exc), 2)
    except ShortPenError as exc:  # the API, or talking to it
        fail(f"{type(exc).__name__}: {exc}{notes(exc)}", 1)
    except Exception as exc:  # anything else (a full disk, a server bug): still one line
        fail(f"{type(exc).__name__}: {exc}{notes(exc)}", 1)


def notes(exc: BaseException) -> str:
    """What the command added to an exception on its way (``add_note``), for the same line."""
    return "".join(f" ({note})" for note in getattr(exc, "__notes__", ()))


#: The library's arguments whose option is named otherwise (the others: ``url_id`` is ``--url-id``).
OPTION_NAMES = {"format": "fmt", "max_concurrency": "concurrency"}


def phrase(exc: InvalidArgumentError) -> str:
    """The library's message in the command's words: it starts with the argument at fault
    (``exc.argument``, as Python spells it), which becomes the option of this command that set it:
    ``window_days must be ...`` -> ``--window-days must be ...``. The rest of a library message is
    plain words already (no ``name=value``); a message about an argument the command has no option
    for (``SHORTPEN_BASE_URL``) is shown as it is."""
    message = str(exc)
    option = option_for(exc.argument)
    if option is None or exc.argument is None or not message.startswith(exc.argument + " "):
        return message
    return option + message.removeprefix(exc.argument)


def option_for(argument: str | None) -> str | None:
    """The running command's option for a library argument (``max_concurrency`` -> ``--concurrency``,
    ``output_dir`` -> ``sync``'s ``--output``), or None if it has none."""
    ctx = click.get_current_context(silent=True)
    if argument is None or ctx is None:
        return None
    name = OPTION_NAMES.get(argument, argument)
    for param in ctx.command.params:
        if isinstance(param, click.Option) and param.name == name:
            return max(param.opts, key=len)  # the long form: --output, not -o
    return None


def connection_options(func: F) -> F:
    """The options that say where the API is and how to talk to it (shared by export and sync)."""
    return connection_decorators()(func)


def connection_decorators(*, workspace: bool = True) -> Callable[[F], F]:
    """:func:`connection_options`; ``workspace=False`` leaves out ``--workspace-id`` and ``--url-id``
    (``load`` takes several workspaces)."""
    decorators = [
        click.option(
            "--environment",
            type=click.Choice(ENVIRONMENTS),
            default="api",
            show_default=True,
            help="ShortPen environment (https://{environment}.shortpen.com).",
        ),
        click.option(
            "--base-url", help="API base URL; overrides --environment (default: $SHORTPEN_BASE_URL)."
        ),
        click.option(
            "--window-days",
            type=int,
            default=DEFAULT_WINDOW_DAYS,
            show_default=True,
            help="Days per request.",
        ),
        click.option(
            "--concurrency",
            type=int,
            default=DEFAULT_MAX_CONCURRENCY,
            show_default=True,
            help="Windows fetched at once.",
        ),
        click.option(
            "--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True, help="Seconds per attempt."
        ),
        click.option(
            "--max-retries",
            type=int,
            default=DEFAULT_MAX_RETRIES,
            show_default=True,
            help="Retries per window after its first attempt (429, 5xx, dropped connections).",
        ),
        click.option(
            "--max-requests-per-second",
            type=float,
            help="Never send faster than this (your account's rate limit); 429s slow it down anyway.",
        ),
        click.option(
            "--max-response-bytes",
            type=int,
            default=DEFAULT_MAX_RESPONSE_BYTES,
            show_default=True,
            help="Read no response past this many bytes (decoded); a window over it is split.",
        ),
        click.option("--workspace-id", type=int, help="Workspace (default: the token's first workspace)."),
        click.option("--url-id", type=int, help="Only the clicks of this link."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary."),
    ]
    if not workspace:
        decorators = decorators[:-3] + decorators[-1:]

    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


class ProgressBar:
    """Windows done / planned, events, rate; on stderr, only when it is a terminal."""

    def __init__(self, *, enabled: bool, label: str) -> None:
        self.enabled = enabled and stderr.is_terminal
        self.bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("windows  {task.fields[events]:,} events  {task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
            disable=not self.enabled,
        )
        self.task: TaskID = self.bar.add_task(label, total=None, events=0, rate=0.0)

    def __enter__(self) -> ProgressBar:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, progress: Progress) -> None:
        rate = progress.events / progress.elapsed if progress.elapsed > 0 else 0.0
        self.bar.update(
            self.task,
            total=progress.windows_planned,
            completed=progress.windows_done,
            events=progress.events,
            rate=rate,
        )


def make_client(options: dict[str, Any], bar: ProgressBar) -> ShortPen:
    """A client from the connection options; dates and ids are validated by the client itself."""
    if not os.environ.get(TOKEN_ENV):  # the command's only source of the token (no --token: ps shows it)
        raise InvalidArgumentError(f"no API token: set the {TOKEN_ENV} environment variable")
    return ShortPen(
        environment=options["environment"],
        base_url=options["base_url"],
        window_days=options["window_days"],
        max_concurrency=options["concurrency"],
        timeout=options["timeout"],
        max_retries=options["max_retries"],
        max_requests_per_second=options["max_requests_per_second"],
        max_response_bytes=options["max_response_bytes"],
        progress=bar.update,
    )


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover - the loop always returns


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 window``, ``2 windows``, ``0 retries`` (``nouns`` when adding an s is wrong)."""
    return f"{n:,} {noun if n == 1 else nouns or noun + 's'}"


def counts_line(report: ExportReport | SyncReport) -> str:
    return (
        f"{plural(report.windows, 'window')}, {plural(report.requests, 'request')}, "
        f"{plural(report.retries, 'retry', 'retries')}, {plural(report.splits, 'split')}, "
        f"{report.seconds:.1f} s"
    )


def no_clicks(options: dict[str, Any], span: str = "") -> str:
    """Why an export or sync holds no event, plainly: ``no clicks in 2025-01-01..2025-01-07 for
    link 999`` (the API answers an unknown link, or days still to come, with no clicks, not an error)."""
    scope = []
    if options["url_id"] is not None:
        scope.append(f"for link {options['url_id']}")
    if options["workspace_id"] is not None:
        scope.append(f"in workspace {options['workspace_id']}")
    return " ".join(["no clicks", *([span] if span else []), *scope])


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(
    __version__,
    prog_name="shortpen",
    message=f"%(prog)s, version %(version)s (ShortPen API spec {SPEC_VERSION}, sha256 {SPEC_SHA256[:12]})",
)
def cli() -> None:
    """Export ShortPen click analytics. The token is read from $SHORTPEN_TOKEN."""


@cli.command()
@click.option("--start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--end", required=True, help="Last day (inclusive), YYYY-MM-DD.")
@click.option(
    "--output",
    "-o",
    required=True,
    help="File to write (.jsonl, .csv, .parquet), or - for JSONL on stdout. A file is all or nothing; "
    "stdout is streamed as windows arrive, so a failure leaves the lines already written there (the error "
    "says how many).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="File format (default: from the suffix; a .jsonl, .csv or .parquet suffix must agree with it).",
)
@connection_options
def export(start: str, end: str, output: str, fmt: str | None, **options: Any) -> None:
    """Export every click of a date range to one file (all or nothing), or to stdout as JSONL."""
    with reported_errors(), ProgressBar(enabled=not options["quiet"], label="export") as bar:
        with make_client(options, bar) as client:
            if output == "-":
                if fmt not in (None, "jsonl"):
                    raise InvalidArgumentError(f"--output - streams JSONL; --format {fmt} needs a file")
                report = stream_jsonl(client, start, end, options)
            else:
                report = client.export(
                    start,
                    end,
                    output,
                    format=fmt,
                    workspace_id=options["workspace_id"],
                    url_id=options["url_id"],
                )
    if not options["quiet"]:
        console = stderr if output == "-" else stdout
        where = "stdout" if output == "-" else str(report.path)
        size = "" if output == "-" else f" ({human_bytes(report.bytes)})"
        if report.events == 0:  # an unknown link, days to come: said plainly, not left to guess
            span = f"on {start}" if start == end else f"in {start}..{end}"
            size = f" ({no_clicks(options, span)})"
        console.print(f"Exported {plural(report.events, 'event')} to {where}{size}: {counts_line(report)}.")


def stream_jsonl(client: ShortPen, start: str, end: str, options: dict[str, Any]) -> ExportReport:
    """``--output -``: JSONL on stdout as windows arrive (exactly as sent, one event a line)."""
    out = _Counted(sys.stdout.buffer)
    try:
        return client.export(
            start,
            end,
            cast(BinaryIO, out),  # what export needs of a stream: write() and flush()
            format="jsonl",
            workspace_id=options["workspace_id"],
            url_id=options["url_id"],
        )
    except BaseException as exc:  # a failure, Ctrl-C or SIGTERM: what is on stdout is not the export
        if out.lines:
            exc.add_note(
                f"stdout got the first {plural(out.lines, 'line')} ({plural(out.lines, 'event')}) before "
                "the failure: an incomplete export"
            )
        else:
            exc.add_note("nothing was written to stdout")
        raise


class _Counted:
    """stdout for a streamed export: each write flushed at once (a reader sees each window as it
    arrives), its lines counted (what reached stdout, for the error line after a failure)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.lines = 0

    def write(self, data: bytes) -> int:
        written = self.raw.write(data)
        self.raw.flush()
        self.lines += data.count(b"\n")
        return written

    def flush(self) -> None:
        self.raw.flush()


@cli.command()
@click.option(
    "--output",
    "-o",
    "output_dir",
    required=True,
    help="Dataset folder (created if missing). Not -: a dataset is a folder, never stdout.",
)
@click.option("--start", required=True, help="First day, YYYY-MM-DD.")
@click.option("--end", help="Last day (inclusive), YYYY-MM-DD. Default: yesterday (UTC).")
@click.option(
    "--lookback-days",
    type=int,
    default=DEFAULT_LOOKBACK_DAYS,
    show_default=True,
    help="Complete days at the end of the range to fetch again (late clicks).",
)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="parquet", show_default=True, help="File format."
)
@click.option(
    "--verify", is_flag=True, help="Hash every kept day's file in full (default: size, ends and footer)."
)
@connection_options
def sync(
    output_dir: str, start: str, end: str | None, lookback_days: int, fmt: str, verify: bool, **options: Any
) -> None:
    """Keep a day-partitioned dataset (date=YYYY-MM-DD/) up to date; rerun to resume."""
    if output_dir == "-":  # export's stdout; here it would be a folder named "-"
        fail(
            "--output -: sync writes a dataset folder, not stdout; give a folder (./- if you mean one named -)",
            2,
        )
    with reported_errors(), ProgressBar(enabled=not options["quiet"], label="sync") as bar:
        with make_client(options, bar) as client:
            report = client.sync(
                start,
                end,
                output_dir=output_dir,
                lookback_days=lookback_days,
                format=fmt,
                workspace_id=options["workspace_id"],
                url_id=options["url_id"],
                verify=verify,
            )
    if not options["quiet"]:
        events = plural(report.events, "event")
        if report.events == 0 and report.days_fetched:
            events += f" ({no_clicks(options)})"
        stdout.print(
            f"Synced {report.start}..{report.end} into {report.output_dir}: "
            f"{plural(report.days_fetched, 'day')} fetched, {report.days_skipped:,} already complete, "
            f"{events}; {counts_line(report)}."
        )


@cli.command("fake-server")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic data.")
@click.option("--token", default="fake-token", show_default=True, help="The token the fake accepts.")
@click.option(
    "--timezone",
    default="UTC",
    show_default=True,
    callback=lambda ctx, param, value: known_zone(value),
    help="The account's timezone (an IANA name, such as Europe/Berlin).",
)
@click.option(
    "--events-per-day",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Clicks per workspace and local day, about (it varies by day).",
)
@click.option(
    "--max-events", type=click.IntRange(min=0), help="Answer 504 above this many events in one response."
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of requests that fail (0 to 1).",
)
def fake_server(
    port: int,
    seed: int,
    token: str,
    timezone: str,
    events_per_day: int,
    max_events: int | None,
    fault_rate: float,
) -> None:
    """Serve a fake ShortPen API on loopback, for local development."""
    from .testing import FakeShortPen, Fault, FaultPlan

    with reported_errors():
        with fake_settings():  # the settings only: not what happens while serving
            faults = FaultPlan(
                rate=fault_rate,
                kinds=(
                    Fault.rate_limit(retry_after=1),
                    Fault.server_error(502, html=True),
                    Fault.drop_connection(),
                ),
                seed=seed,
            )
            fake = FakeShortPen(
                seed=seed,
                token=token,
                timezone=timezone,
                events_per_day=events_per_day,
                max_events_per_response=max_events,
                faults=faults,
                max_recorded_requests=0,  # nothing reads the log here: memory stays flat however long it runs
            )
        with fake.serve(port=port) as url:
            stdout.print(f"Fake ShortPen API on {url} (workspaces {fake.workspace_ids}); Ctrl-C stops it.")
            stdout.print(f"  export SHORTPEN_BASE_URL={url}")
            stdout.print(f"  export SHORTPEN_TOKEN={token}   # the fake's token, not a real one")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                stdout.print(f"stopped after {fake.request_count} request(s)")


def known_zone(name: str) -> str:
    """``--timezone``: an IANA zone this machine knows (checked before the fake is made)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown timezone {name!r} (an IANA name, such as Europe/Berlin)") from None
    return name


@contextmanager
def fake_settings() -> Iterator[None]:
    """A setting the fake refuses (one the options' ranges let through) is bad input: exit 2."""
    try:
        yield
    except ValueError as exc:
        fail(f"the fake refuses these settings: {exc}", 2)


DEMO_MONTH = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))


@cli.command()
@click.option(
    "--output-dir",
    default="shortpen-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the export goes.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def demo(output_dir: str, quiet: bool) -> None:
    """Export a realistic month from a fake ShortPen on loopback (one heavy day, some faults)."""
    from .testing import FakeShortPen, Fault, FaultPlan

    start, end = DEMO_MONTH
    heavy_day = dt.date(2025, 3, 14)
    fake = FakeShortPen(
        seed=2025,
        timezone="Europe/Berlin",
        events_per_day=1500,
        heavy_days={heavy_day: 9000},
        max_events_per_response=12000,
        faults=FaultPlan(
            rate=0.2,
            kinds=(
                Fault.rate_limit(retry_after=1),
                Fault.server_error(502, html=True),
                Fault.html_200(),
                Fault.drop_connection(),
                Fault.truncated_json(),
            ),
            seed=7,
        ),
    )
    try:
        import pyarrow  # noqa: F401  (only checking it is there)

        fmt = "parquet"
    except ImportError:
        fmt = "jsonl"
    folder = Path(output_dir)
    with reported_errors():
        folder.mkdir(parents=True, exist_ok=True)
        output = folder / f"clicks-{start:%Y-%m}.{fmt}"
        with fake.serve() as url, ProgressBar(enabled=not quiet, label="demo export") as bar:
            stderr.print(f"Fake ShortPen on {url}: exporting {start}..{end} (Europe/Berlin account)")
            with ShortPen(fake.token, base_url=url, progress=bar.update) as client:
                report = client.export(start, end, output)
    print_demo_summary(report, heavy_day, expected=len(fake.events(start, end)))


def print_demo_summary(report: ExportReport, heavy_day: dt.date, *, expected: int) -> None:
    table = Table(title="shortpen demo", show_header=False, title_justify="left")
    table.add_row("events", f"{report.events:,}")
    table.add_row("windows", str(report.windows))
    retries = plural(report.retries, "retry", "retries")
    table.add_row("requests", f"{report.requests:,} ({retries}, {plural(report.splits, 'split')})")
    table.add_row("seconds", f"{report.seconds:.2f}")
    for name, top in (top_values(report.path, report.format) if report.path else {}).items():
        table.add_row(f"top {name}", ", ".join(f"{k} {v:,}" for k, v in top))
    table.add_row("file", f"{report.path} ({human_bytes(report.bytes)}, {report.format})")
    stdout.print(table)
    were = "was" if report.splits == 1 else "were"
    faults = plural(report.retries, "injected fault")
    stdout.print(
        f"{plural(report.splits, 'window')} {were} too big for one response (the heavy day is {heavy_day}) "
        f"and split; {faults} (429, 502, HTML, dropped connections, cut-off JSON) "
        f"{'was' if report.retries == 1 else 'were'} retried."
    )
    if report.events != expected:
        fail(f"the export holds {report.events:,} events but the fake served {expected:,}", 1)
    stdout.print(f"The file holds exactly the {expected:,} events the fake API has for the month.")


def top_values(path: Path, fmt: str, n: int = 3) -> dict[str, list[tuple[str, int]]]:
    """The most frequent values of each optional text field of the spec's event, in an exported file."""
    names = [f.name for f in EVENT if f.kind == "str" and not f.required]
    counters: dict[str, collections.Counter[str]] = {name: collections.Counter() for name in names}
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=names)
        for name in names:
            counters[name].update(v or "(none)" for v in table.column(name).to_pylist())
    else:
        import json

        with path.open("rb") as lines:
            for line in lines:
                event = json.loads(line)
                for name in names:
                    counters[name][event.get(name) or "(none)"] += 1
    return {name: counter.most_common(n) for name, counter in counters.items()}


# `shortpen load` lives in a module of its own (dlt, the `dlt` extra, is imported only when it runs).
from ._cli_load import load  # noqa: E402  (it uses the helpers above)

cli.add_command(load)
