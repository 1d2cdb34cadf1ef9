"""python-telegram-bot's PicklePersistence on local disk, as a peer of the benchmark.

    python3 bench/peers/pickle_persistence.py SPEC.json
    python3 bench/peers/pickle_persistence.py --cold FILE

SPEC names the population (JSON written by bench/scenarios/pickle-persistence.ts: the same users,
chats, bot data and survey states as every other peer), a working directory, how many loads and
writes to time, and the users to update. Prints one JSON line: load and per-update write times in
milliseconds, for the single-file and the multi-file layout, and the sizes of the files written.

A load is what the Application does at start: a new PicklePersistence, then get_user_data,
get_chat_data, get_bot_data and get_conversations (the file is read once; each get_* returns a
deep copy). A write is update_user_data with on_flush=False: PTB pickles the whole file again.

With --cold, one load of the single-file pickle FILE (written by a SPEC run) and nothing else: the
process start and load of a PTB bot before its first update (bench/scenarios/lambda-cold-start.ts
times the process from spawn to exit).
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


def ms_since(started: int) -> float:
    return (time.perf_counter_ns() - started) / 1e6


def touch(data: dict) -> dict:
    """The update every peer makes: the counter moves on and the time changes (a new dict, as PTB compares by ==)."""
    return {**data, "count": data.get("count", 0) + 1, "lastSeen": data.get("lastSeen", 1_730_000_000) + 60}


async def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        spec = json.load(file)
    with open(spec["population"], encoding="utf-8") as file:
        population = json.load(file)
    users = {int(user_id): data for user_id, data in population["users"]}
    chats = {int(chat_id): data for chat_id, data in population["chats"]}
    surveys = {tuple(key): state for key, state in population["surveys"]}
    bot = ExtBot("123456:BENCHMARK")  # never contacted: the pickler only needs the live bot to recognise it

    def open_persistence(single_file: bool, on_flush: bool) -> PicklePersistence:
        persistence = PicklePersistence(
            filepath=os.path.join(spec["workdir"], "single" if single_file else "multi", "bot"),
            single_file=single_file,
            on_flush=on_flush,
        )
        persistence.set_bot(bot)
        return persistence

    results = {"ptbVersion": telegram.__version__, "python": platform.python_version()}
    for single_file in (True, False):
        layout = "single-file" if single_file else "multi-file"
        os.makedirs(os.path.join(spec["workdir"], "single" if single_file else "multi"), exist_ok=True)
        seed = open_persistence(single_file, on_flush=True)
        for user_id, data in users.items():
            await seed.update_user_data(user_id, data)
        for chat_id, data in chats.items():
            await seed.update_chat_data(chat_id, data)
        for key, state in surveys.items():
            await seed.update_conversation(SURVEY, key, state)
        await seed.update_bot_data(population["botData"])
        await seed.flush()

        loads = []
        for _ in range(spec["loads"]):
            persistence = open_persistence(single_file, on_flush=False)
            started = time.perf_counter_ns()
            await persistence.get_user_data()
            await persistence.get_chat_data()
            await persistence.get_bot_data()
            await persistence.get_conversations(SURVEY)
            loads.append(ms_since(started))

        persistence = open_persistence(single_file, on_flush=False)
        current = await persistence.get_user_data()
        writes = []
        for user_id in spec["touched"]:
            data = touch(current.get(user_id, {}))
            current[user_id] = data
            started = time.perf_counter_ns()
            await persistence.update_user_data(user_id, data)
            writes.append(ms_since(started))
        written = persistence.filepath if single_file else f"{persistence.filepath}_user_data"
        results[layout] = {"loadMs": loads, "writeMs": writes[1:], "bytesPerWrite": os.path.getsize(written)}
    print(json.dumps(results))


async def cold_load(filepath: str) -> None:
    persistence = PicklePersistence(filepath=filepath, single_file=True, on_flush=False)
    persistence.set_bot(ExtBot("123456:BENCHMARK"))
    await persistence.get_user_data()
    await persistence.get_chat_data()
    await persistence.get_bot_data()
    await persistence.get_conversations(SURVEY)


if len(sys.argv) == 3 and sys.argv[1] == "--cold":
    asyncio.run(cold_load(sys.argv[2]))
else:
    asyncio.run(main())
