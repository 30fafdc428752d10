#!/usr/bin/env python3
"""DEAP's side of `make bench-peers` (see peers.sh beside this file).

dispatch: zero-cost evaluations of a population through
multiprocessing.Pool(2).map with a given chunk size, as DEAP distributes
evaluations (toolbox.register("map", pool.map)); prints evals/s.

ga: one generation of DEAP's equivalent of the base optimizer's step
(coordinator/ga.Next): elites kept, tournament selection, uniform
crossover at a rate, gaussian mutation of every weight, clamped; prints
seconds per generation.

Each invocation prints one line "<figure> <value>" for the driver to parse.
"""
import argparse
import multiprocessing
import random
import time

from deap import base, creator, tools


def zero_cost(ind):
    """The evaluation both sides measure: nothing, one fitness value."""
    return (0.0,)


def setup(length):
    if not hasattr(creator, "FitnessMax"):
        creator.create("FitnessMax", base.Fitness, weights=(1.0,))
        creator.create("Individual", list, fitness=creator.FitnessMax)
    rng = random.Random(1)
    return lambda: creator.Individual(rng.uniform(-1, 1) for _ in range(length))


def dispatch(args):
    make = setup(args.length)
    pop = [make() for _ in range(args.population)]
    chunk = args.chunk or None  # 0: Pool.map's own choice, ceil(n / (4 x 2))
    with multiprocessing.Pool(2) as pool:
        pool.map(zero_cost, pop, chunksize=chunk)  # start the workers
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            fits = pool.map(zero_cost, pop, chunksize=chunk)
            for ind, fit in zip(pop, fits):
                ind.fitness.values = fit
            n += 1
        elapsed = time.perf_counter() - start
    print("evals/s", n * len(pop) / elapsed)


def ga(args):
    make = setup(args.length)
    tb = base.Toolbox()
    tb.register("select", tools.selTournament, tournsize=args.tournament)
    tb.register("mate", tools.cxUniform, indpb=0.5)
    tb.register("mutate", tools.mutGaussian, mu=0.0, sigma=args.sigma, indpb=1.0)
    pop = [make() for _ in range(args.population)]
    for i, ind in enumerate(pop):
        ind.fitness.values = (float(i % 7),)

    def step(pop):
        elites = [tb.clone(e) for e in tools.selBest(pop, args.elites)]
        children = []
        while len(elites) + len(children) < len(pop):
            p1 = tb.clone(tb.select(pop, 1)[0])
            if random.random() < args.crossover:
                p2 = tb.select(pop, 1)[0]
                tb.mate(p1, tb.clone(p2))
            tb.mutate(p1)
            p1[:] = [min(5.0, max(-5.0, w)) for w in p1]
            del p1.fitness.values
            children.append(p1)
        return elites + children

    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        step(pop)
        n += 1
    print("s/generation", (time.perf_counter() - start) / n)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("figure", choices=["dispatch", "ga"])
    p.add_argument("--population", type=int, default=4096)
    p.add_argument("--length", type=int, default=8, help="floats per individual")
    p.add_argument("--chunk", type=int, default=4, help="Pool.map chunk size (dispatch); 0: Pool.map's default")
    p.add_argument("--tournament", type=int, default=3)
    p.add_argument("--crossover", type=float, default=0.3)
    p.add_argument("--sigma", type=float, default=0.3)
    p.add_argument("--elites", type=int, default=4)
    p.add_argument("--seconds", type=float, default=2.0, help="measuring time")
    args = p.parse_args()
    {"dispatch": dispatch, "ga": ga}[args.figure](args)


if __name__ == "__main__":
    main()
