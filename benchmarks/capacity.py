"""Capacity: many prospects at once through the app as ``make run`` starts it, next to
one bare Rasa process on the same model and questions, in the same run.

For each Rasa worker count asked for (``--workers 1,2``) the app is started as its
own process (``python -m bot``: SQLite, managed Rasa servers, the chat API open
with a token), then:

1. everyday questions: ``--compare`` prospects (default 50) at once, each asking
   the same few questions (no custom action) in its language, through the app's
   ``/api/v1/chat``; the bare Rasa process gets the very same conversations on its
   stock REST channel (measured once, first). ``--rounds`` (default 3) such
   waves of new prospects, one after the other, make one phase: a few seconds
   of load alone vary by a fifth from run to run;
2. journeys: ``--prospects`` (default 200) at once, each following a scripted
   journey in one of five languages: questions, a booking, a request for a person.

Prints turns/s, p50/p95/p99, failed turns (an error, a timeout, or the prospect
told "a person will follow up" because a turn failed), touchpoints expected vs
stored (and any stored twice), the app/bare ratios, CPU per turn of each process
and peak memory; writes the figures to ``--json``. A run that failed says so: the
figures are what happened, never a success after a timeout.

    make bench   # or: .venv/bin/python benchmarks/capacity.py --workers 1,2
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.dialogue.rasa_process import RasaProcess
from bot.settings import PROJECT_DIR, Settings
from tests.app_process import CHAT_AUTH, AppProcess, free_port

TICKS = os.sysconf("SC_CLK_TCK")
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=300)

# Everyday questions Rasa answers with a response alone (no custom action).
EVERYDAY = {
    "en": ["how much is the corolla?", "where is your showroom and when are you open?",
           "what warranty do you give?", "do you offer financing?", "thanks, bye"],
    "he": ["כמה עולה הקורולה?", "איפה האולם ומתי אתם פתוחים?", "איזו אחריות יש?",
           "יש אפשרות למימון?", "תודה, ביי"],
    "ar": ["قديش سعر الكورولا؟", "وين المعرض وايمتى بتفتحوا؟", "شو الكفالة عندكم؟",
           "في عندكم تمويل؟", "شكرا، مع السلامة"],
    "fa": ["قیمت کرولا چنده؟", "نمایشگاه کجاست و کی باز هستید؟", "گارانتی چقدره؟",
           "شرایط اقساطی دارید؟", "ممنون، خداحافظ"],
    "ro": ["cât costă corolla?", "unde e showroomul și când aveți deschis?",
           "ce garanție oferiți?", "aveți finanțare?", "mulțumesc, pa"],
}  # fmt: skip
# A journey: a greeting, questions, a booking in one message, a person, goodbye.
JOURNEYS = {
    "en": ["hi", "how much is the rav4?", "do you have any offers?",
           "book a test drive of the RAV4 tomorrow at 11 in Tel Aviv, I'm Dana, 052-555-1234",
           "can I talk to a person?", "thanks, bye"],
    "he": ["שלום", "כמה עולה הקורולה?", "יש מבצעים?",
           "אני רוצה לקבוע נסיעת מבחן בקורולה מחר ב-12 בתל אביב, קוראים לי דנה, 052-555-1234",
           "אפשר לדבר עם נציג?", "תודה, ביי"],
    "ar": ["مرحبا", "قديش سعر الاوكتافيا؟", "في عروض هالفترة؟",
           "بدي احجز تجربة قيادة اوكتافيا بكرة الساعة 11 في حيفا، اسمي دانا، 052-555-1234",
           "بدي احكي مع موظف", "شكرا، مع السلامة"],
    "fa": ["سلام", "قیمت اسپورتیج چنده؟", "تخفیف دارید؟",
           "تست درایو اسپورتیج فردا ساعت ۱۲ در حیفا، اسمم دانا است، ۰۵۲-۵۵۵-۱۲۳۴",
           "می‌خواهم با یک آدم صحبت کنم", "ممنون، خداحافظ"],
    "ro": ["salut", "cât costă ID.4?", "aveți oferte acum?",
           "vreau un test drive cu ID.4 mâine la ora 11 la Tel Aviv, mă numesc Dana, 0721 555 123",
           "pot vorbi cu un om?", "mulțumesc, pa"],
}  # fmt: skip
LANGUAGES = list(EVERYDAY)


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    prospects: int
    turns_sent: int = 0
    failed: int = 0  # HTTP error or timeout
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    replies: int = 0

    def add(self, other: "Phase") -> None:
        """Another wave of the same phase: one longer measurement."""
        self.turns_sent += other.turns_sent
        self.failed += other.failed
        self.seconds += other.seconds
        self.latencies_ms += other.latencies_ms
        self.replies += other.replies
        for label, cpu in other.cpu_seconds.items():
            self.cpu_seconds[label] = self.cpu_seconds.get(label, 0.0) + cpu

    @property
    def answered(self) -> int:
        return len(self.latencies_ms)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        del data["latencies_ms"]
        timings = sorted(self.latencies_ms) or [float("nan")]
        data |= {
            "answered": self.answered,
            "turns_per_second": self.answered / self.seconds if self.seconds else 0.0,
            "p50_ms": percentile(timings, 0.50),
            "p95_ms": percentile(timings, 0.95),
            "p99_ms": percentile(timings, 0.99),
            "cpu_ms_per_turn": {
                name: 1000 * cpu / max(self.answered, 1) for name, cpu in self.cpu_seconds.items()
            },
        }
        return data


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def converse(
    http: aiohttp.ClientSession, phase: Phase, say: Any, sender: str, texts: list[str]
) -> None:
    """One prospect: each message after the answer to the one before."""
    for text in texts:
        phase.turns_sent += 1
        start = time.perf_counter()
        try:
            replies = await say(http, sender, text)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            phase.failed += 1
            continue
        phase.latencies_ms.append((time.perf_counter() - start) * 1000)
        phase.replies += replies


async def run_phase(
    name: str, conversations: dict[str, list[str]], say: Any, pids: dict[str, int]
) -> Phase:
    phase = Phase(name, len(conversations))
    before = {label: cpu_seconds(pid) for label, pid in pids.items()}
    start = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT, connector=connector) as http:
        await asyncio.gather(
            *(converse(http, phase, say, s, texts) for s, texts in conversations.items())
        )
    phase.seconds = time.perf_counter() - start
    phase.cpu_seconds = {label: cpu_seconds(pid) - before[label] for label, pid in pids.items()}
    return phase


async def everyday(name: str, args: argparse.Namespace, say: Any, pids: dict[str, int]) -> Phase:
    """``--rounds`` waves of ``--compare`` new prospects (senders ``e-<wave>-<n>``)."""
    phase = Phase(name, args.compare)
    for wave in range(args.rounds):
        one = await run_phase(name, conversations(f"e-{wave}", args.compare, EVERYDAY), say, pids)
        print(f"  {name}, wave {wave + 1}: {one.answered / one.seconds:.1f} turns/s", flush=True)
        phase.add(one)
    return phase


def app_sayer(url: str) -> Any:
    async def say(http: aiohttp.ClientSession, sender: str, text: str) -> int:
        body = {"sender": sender, "text": text, "message_id": uuid.uuid4().hex}
        async with http.post(f"{url}/api/v1/chat", json=body, headers=CHAT_AUTH) as response:
            if response.status != 200:
                raise ValueError(f"{response.status}: {await response.text()}")
            return len((await response.json())["replies"])

    return say


def rest_sayer(url: str) -> Any:
    async def say(http: aiohttp.ClientSession, sender: str, text: str) -> int:
        body = {"sender": sender, "message": text}
        async with http.post(f"{url}/webhooks/rest/webhook", json=body) as response:
            if response.status != 200:
                raise ValueError(f"{response.status}: {await response.text()}")
            return len(await response.json())

    return say


def conversations(
    prefix: str, prospects: int, scripts: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Each prospect's messages, the languages taking turns."""
    return {f"{prefix}-{n}": scripts[LANGUAGES[n % len(LANGUAGES)]] for n in range(prospects)}


def stored(database: Path, prefix: str) -> dict[str, int]:
    """What the app stored for the senders of a phase: inbound, outbound, failed turns,
    and inbound messages stored twice under one idempotency key."""
    with sqlite3.connect(database) as db:
        row = db.execute(
            """
            SELECT
              SUM(t.direction = 'in'),
              SUM(t.direction = 'out'),
              SUM(t.direction = 'in' AND t.status = 'failed'),
              COUNT(t.idempotency_key) - COUNT(DISTINCT t.idempotency_key)
            FROM touchpoints t JOIN conversations c ON c.id = t.conversation_id
            WHERE c.external_id LIKE ? AND t.direction IN ('in', 'out')
            """,
            (f"{prefix}-%",),
        ).fetchone()
    inbound, outbound, failed, doubled = (value or 0 for value in row)
    return {"inbound": inbound, "outbound": outbound, "failed": failed, "doubled": doubled}


class StockRasa(RasaProcess):
    """Rasa with its own thread settings, as a bare ``rasa run`` gets them."""

    def _thread_limits(self) -> dict[str, str]:
        return {}


async def bare_rasa(workdir: Path) -> RasaProcess:
    """One Rasa process as Rasa ships it, with its stock REST channel and thread
    settings, on our model and endpoints (its own SQL tracker store file)."""
    credentials = workdir / "credentials.yml"
    text = (PROJECT_DIR / "credentials.yml").read_text(encoding="utf-8")
    credentials.write_text(text + "\nrest:\n", encoding="utf-8")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    process = StockRasa(
        venv=settings.rasa_venv, project_dir=PROJECT_DIR, model=settings.rasa_model,
        port=free_port(), token=uuid.uuid4().hex,
        action_endpoint_url="http://127.0.0.1:9/none",  # everyday questions call no action
        start_timeout=300, restart_delay=1, credentials=credentials,
        tracker_url=f"sqlite:///{workdir / 'bare-trackers.db'}",
    )  # fmt: skip
    await process.start()
    return process


def spy_on(spy: str, pid: int, out: Path) -> "subprocess.Popen[bytes]":
    command = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "50",
               "--nonblocking", "--output", str(out)]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


@contextlib.contextmanager
def profiled(pids: dict[str, int], folder: Path | None) -> Iterator[None]:
    """py-spy samples each process meanwhile (``--profile``): collapsed stacks in folder."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if folder is None or not Path(spy).exists():
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    spies = [spy_on(spy, pid, folder / f"{label}.txt") for label, pid in pids.items()]
    try:
        yield
    finally:
        for spy_process in spies:
            spy_process.send_signal(2)  # SIGINT: py-spy writes its file and exits
            spy_process.wait(timeout=60)


def hottest(stacks: Path, top: int = 12) -> list[tuple[str, float]]:
    """Functions by the share of samples they were on the stack (inclusive)."""
    seen: Counter[str] = Counter()
    total = 0
    for line in stacks.read_text(encoding="utf-8", errors="replace").splitlines():
        frames, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in {f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0] + ")"
                      for f in frames.split(";") if f}:  # fmt: skip
            seen[frame] += int(count)
    return [(frame, n / total) for frame, n in seen.most_common(top)] if total else []


def line(phase: dict[str, Any]) -> str:
    return (
        f"{phase['name']:<34}{phase['prospects']:>6}{phase['answered']:>7}{phase['failed']:>7}"
        f"{phase['turns_per_second']:>8.1f}{phase['p50_ms']:>9.0f}{phase['p95_ms']:>9.0f}"
        f"{phase['p99_ms']:>9.0f}"
    )


HEADER = f"{'phase':<34}{'users':>6}{'turns':>7}{'failed':>7}{'turn/s':>8}{'p50 ms':>9}" + (
    f"{'p95 ms':>9}{'p99 ms':>9}"
)


async def app_run(workdir: Path, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    folder = workdir / f"workers-{workers}"
    folder.mkdir()
    app = AppProcess(folder, RASA_WORKERS=str(workers), LOG_LEVEL="WARNING")
    print(f"starting the app with {workers} Rasa worker(s) ...", flush=True)
    await app.start(patience=600)
    try:
        pids = {"app": app.pid} | {f"rasa-{n}": pid for n, pid in enumerate(app.children())}
        say = app_sayer(app.url)
        await run_phase("warm-up", {"warm": ["hi"]}, say, pids)
        questions = await everyday("app: everyday questions", args, say, pids)
        with profiled(pids, args.profile and args.profile / f"workers-{workers}"):
            journey = await run_phase(
                "app: journeys", conversations("j", args.prospects, JOURNEYS), say, pids
            )
        memory = {label: peak_mb(pid) for label, pid in pids.items()}
    finally:
        await app.stop()
    database = folder / "bot.db"
    return {
        "workers": workers,
        "everyday": questions.summary() | {"stored": stored(database, "e")},
        "journeys": journey.summary() | {"stored": stored(database, "j")},
        "peak_memory_mb": memory,
    }


def report(bare: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    print(f"\n{HEADER}")
    print(line(bare))
    for run in runs:
        print(line(run["everyday"] | {"name": f"app ({run['workers']} Rasa): everyday"}))
        print(line(run["journeys"] | {"name": f"app ({run['workers']} Rasa): journeys"}))
    for run in runs:
        questions, journey = run["everyday"], run["journeys"]
        throughput = questions["turns_per_second"] / bare["turns_per_second"]
        latency = questions["p99_ms"] / bare["p99_ms"]
        print(f"\n{run['workers']} Rasa worker(s), everyday questions, app / bare Rasa: "
              f"throughput {throughput:.2f}x, p99 {latency:.2f}x")  # fmt: skip
        for name, phase in (("everyday", questions), ("journeys", journey)):
            kept = phase["stored"]
            cpu = ", ".join(f"{k} {v:.1f}" for k, v in phase["cpu_ms_per_turn"].items())
            print(
                f"  {name}: sent {phase['turns_sent']}, answered {phase['answered']}, "
                f"stored in {kept['inbound']} (doubled {kept['doubled']}), replies "
                f"{phase['replies']} / stored out {kept['outbound']}, failed turns "
                f"{phase['failed'] + kept['failed']}; CPU ms/turn: {cpu}"
            )
        memory = ", ".join(f"{k} {v:.0f}" for k, v in run["peak_memory_mb"].items())
        print(f"  peak memory MB: {memory}")
    bare_cpu = ", ".join(f"{k} {v:.1f}" for k, v in bare["cpu_ms_per_turn"].items())
    print(f"\nbare Rasa CPU ms/turn: {bare_cpu}; peak memory {bare['peak_memory_mb']:.0f} MB")


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    print("starting one bare Rasa process ...", flush=True)
    rasa = await bare_rasa(workdir)
    try:
        assert rasa.process is not None
        pids = {"rasa": rasa.process.pid}
        say = rest_sayer(rasa.url)
        await run_phase("warm-up", {"warm": ["hi"]}, say, pids)
        bare = await everyday("bare Rasa: everyday", args, say, pids)
        summary = bare.summary() | {"peak_memory_mb": peak_mb(rasa.process.pid)}
    finally:
        await rasa.stop()
    runs = [await app_run(workdir, workers, args) for workers in args.workers]
    report(summary, runs)
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    figures = {"bare": summary, "app": runs, "args": options, "cores": os.cpu_count()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(f"\nfigures written to {args.json}")
    for stacks in sorted(args.profile.glob("*/*.txt")) if args.profile else []:
        print(f"\nprofile {stacks.parent.name}/{stacks.stem} (share of samples on the stack):")
        for frame, share in hottest(stacks):
            print(f"  {share:6.1%}  {frame}")
    if any(
        r[p]["failed"] + r[p]["stored"]["failed"] for r in runs for p in ("everyday", "journeys")
    ):
        raise SystemExit("some turns failed: see above")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prospects", type=int, default=200, help="journeys at once")
    parser.add_argument("--compare", type=int, default=50, help="everyday prospects at once")
    parser.add_argument("--rounds", type=int, default=3, help="waves of everyday prospects")
    parser.add_argument("--workers", type=lambda v: [int(n) for n in v.split(",")], default=[1, 2])
    parser.add_argument("--json", type=Path, default=PROJECT_DIR / "results" / "bench.json")
    parser.add_argument(
        "--profile", type=Path, default=None, help="folder for py-spy's stacks of the journeys"
    )
    asyncio.run(main(parser.parse_args()))
