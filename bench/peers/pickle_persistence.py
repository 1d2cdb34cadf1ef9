"""python-telegram-bot's PicklePersistence on local disk, as a peer of the benchmark.

    python3 bench/peers/pickle_persistence.py SPEC.json
    python3 bench/peers/pickle_persistence.py --cold FILE
    python3 bench/peers/pickle_persistence.py --serve

SPEC names the population (JSON written by the benchmark: the same users, chats, bot data and
survey states as every other peer), a working directory, how many loads and writes to time, and
the users to update. Prints one JSON line: load and per-update write times in milliseconds, for
the single-file and the multi-file layout, and the sizes of the files written.

A load is what the Application does at start: a new PicklePersistence, then get_user_data,
get_chat_data, get_bot_data and get_conversations (the file is read once; each get_* returns a
deep copy). A write is update_user_data with on_flush=False: PTB pickles the whole file again.

With --cold, one load of the single-file pickle FILE (written by a SPEC run or --serve's setup) and
nothing else, then `loaded` on stdout: the process start and load of a PTB bot before its first
update (the benchmark times the process from spawn to that line, or to its exit).

With --serve, a long-lived peer that the benchmark drives one command at a time, so that its
rounds alternate with the library's in the same run (bench/scenarios/pickle-persistence.ts). Each
command is one JSON line on stdin, each answer one JSON line on stdout:

    {"cmd": "setup", "population": FILE, "workdir": DIR}  -> {"ptbVersion", "python", "bytes": {layout: n}}
    {"cmd": "load", "layout": "single-file"}              -> {"ms": x}
    {"cmd": "write", "layout": "multi-file", "users": [id, ...]} -> {"ms": [x, ...]}
    {"cmd": "quit"}
"""
import asyncio
import json
import os
import platform
import sys
import time

import telegram
from telegram.ext import ExtBot, PicklePersistence

SURVEY = "survey"
LAYOUTS = {"single-file": True, "multi-file": False}


def ms_since(started: int) -> float:
    return (time.perf_counter_ns() - started) / 1e6


def touch(data: dict) -> dict:
    """The update every peer makes: the counter moves on and the time changes (a new dict, as PTB compares by ==)."""
    return {**data, "count": data.get("count", 0) + 1, "lastSeen": data.get("lastSeen", 1_730_000_000) + 60}


class Peer:
    """One population in PTB's two layouts under `workdir`, and the persistence a running bot holds for each."""

    def __init__(self, population_file: str, workdir: str) -> None:
        with open(population_file, encoding="utf-8") as file:
            self.population = json.load(file)
        self.workdir = workdir
        # Never contacted: the pickler only needs the live bot to recognise it.
        self.bot = ExtBot("123456:BENCHMARK")
        self.running: dict[str, PicklePersistence] = {}
        self.current: dict[str, dict] = {}

    def open(self, layout: str, on_flush: bool) -> PicklePersistence:
        single_file = LAYOUTS[layout]
        persistence = PicklePersistence(
            filepath=os.path.join(self.workdir, "single" if single_file else "multi", "bot"),
            single_file=single_file,
            on_flush=on_flush,
        )
        persistence.set_bot(self.bot)
        return persistence

    def written(self, layout: str) -> str:
        persistence = self.running[layout]
        return str(persistence.filepath) if LAYOUTS[layout] else f"{persistence.filepath}_user_data"

    async def seed(self, layout: str) -> None:
        population = self.population
        os.makedirs(os.path.join(self.workdir, "single" if LAYOUTS[layout] else "multi"), exist_ok=True)
        seed = self.open(layout, on_flush=True)
        for user_id, data in population["users"]:
            await seed.update_user_data(int(user_id), data)
        for chat_id, data in population["chats"]:
            await seed.update_chat_data(int(chat_id), data)
        for key, state in population["surveys"]:
            await seed.update_conversation(SURVEY, tuple(key), state)
        await seed.update_bot_data(population["botData"])
        await seed.flush()
        # The bot's own instance: loaded once, then written on every update.
        self.running[layout] = self.open(layout, on_flush=False)
        self.current[layout] = await self.running[layout].get_user_data()

    async def load(self, layout: str) -> float:
        persistence = self.open(layout, on_flush=False)
        started = time.perf_counter_ns()
        await persistence.get_user_data()
        await persistence.get_chat_data()
        await persistence.get_bot_data()
        await persistence.get_conversations(SURVEY)
        return ms_since(started)

    async def write(self, layout: str, user_id: int) -> float:
        current = self.current[layout]
        data = touch(current.get(user_id, {}))
        current[user_id] = data
        started = time.perf_counter_ns()
        await self.running[layout].update_user_data(user_id, data)
        return ms_since(started)


def versions() -> dict:
    return {"ptbVersion": telegram.__version__, "python": platform.python_version()}


async def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        spec = json.load(file)
    peer = Peer(spec["population"], spec["workdir"])
    results = versions()
    for layout in LAYOUTS:
        await peer.seed(layout)
        loads = [await peer.load(layout) for _ in range(spec["loads"])]
        writes = [await peer.write(layout, user_id) for user_id in spec["touched"]]
        results[layout] = {"loadMs": loads, "writeMs": writes[1:], "bytesPerWrite": os.path.getsize(peer.written(layout))}
    print(json.dumps(results))


async def serve() -> None:
    peer = None
    while line := sys.stdin.readline():
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "quit":
            break
        if cmd == "setup":
            peer = Peer(command["population"], command["workdir"])
            for layout in LAYOUTS:
                await peer.seed(layout)
            answer = {**versions(), "bytes": {layout: os.path.getsize(peer.written(layout)) for layout in LAYOUTS}}
        elif cmd == "load":
            answer = {"ms": await peer.load(command["layout"])}
        elif cmd == "write":
            answer = {"ms": [await peer.write(command["layout"], int(user_id)) for user_id in command["users"]]}
        else:
            answer = {"error": f"unknown command {cmd}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


async def cold_load(filepath: str) -> None:
    persistence = PicklePersistence(filepath=filepath, single_file=True, on_flush=False)
    persistence.set_bot(ExtBot("123456:BENCHMARK"))
    await persistence.get_user_data()
    await persistence.get_chat_data()
    await persistence.get_bot_data()
    await persistence.get_conversations(SURVEY)
    # The data is in hand: the benchmark's clock stops at this line (the interpreter's exit comes after).
    print("loaded", flush=True)


if len(sys.argv) == 3 and sys.argv[1] == "--cold":
    asyncio.run(cold_load(sys.argv[2]))
elif len(sys.argv) == 2 and sys.argv[1] == "--serve":
    asyncio.run(serve())
else:
    asyncio.run(main())
