"""Session 4 GPU experiments (not part of the product): ablations with v2's classifier settings, a forward LM
fine-tuned on the backward member's corpus, and the members + dev twins a v6 would need.

    python experiments/session4/exp.py JOB --data D --work W --out O   (run.sh runs every job at once)
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from models.build import train_and_export
from models.corpus import DataDir
from models.data import LABELS
from models.ensemble import dev_split
from models.text import Tokenizer, normalise, pad
from models.ulmfit import Pipeline, UlmfitConfig, _summary, evaluate_bundle

log = logging.getLogger("exp")
LM1 = os.environ.get("EXP_LM1", "gpu/lm1-fp16.pt")  # the stage-1 LM of the "LM rerun" rows (the lm1 job's output)
CFG = UlmfitConfig(size="small")
CFG = replace(CFG, lm1=replace(CFG.lm1, epochs=15, batch_size=128), lm2=replace(CFG.lm2, epochs=6, batch_size=128))
if os.environ.get("EXP_TINY"):  # a dry run of every job on the miniature data folder, on this CPU
    CFG = replace(CFG, size="tiny", lm1=replace(CFG.lm1, epochs=1, batch_size=8, bptt=16),
                  lm2=replace(CFG.lm2, epochs=1, batch_size=8, bptt=16),
                  lm_bwd=replace(CFG.lm_bwd, epochs=1, batch_size=8, bptt=16), clf=replace(CFG.clf, epochs=2))


def enc(state: dict) -> dict:
    return {k.removeprefix("encoder."): v.float() for k, v in state["model"].items() if k.startswith("encoder.")}


def wait_for(path: Path) -> None:
    while not path.is_file():
        time.sleep(2)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("job")
    p.add_argument("--data", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {a.job} %(name)s %(message)s")
    torch.set_num_threads(2)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    work, out = Path(a.work), Path(a.out)
    pipe = Pipeline(DataDir(a.data), work, CFG, dev, progress=False)
    tok_path = work / "tokenizer.model"
    tok = Tokenizer(tok_path, CFG.max_len)
    data = pipe.data
    train = pipe.leaks.examples(data.stance_train(with_none=True))
    evals = data.eval_sets()
    val = evals["pstance_val_3class"]
    awd = CFG.awd(tok.vocab_size, CFG.clf_drop_mult)
    v1 = torch.load(os.environ.get("EXP_LM", "models/pretrained/lm-small-v1.pt"), weights_only=False)
    v1 = {**v1, "model": {k: v.float() for k, v in v1["model"].items()}}

    def clf(name: str, state: dict | None, tcfg=CFG.clf, backward: bool = False, twin: bool = False,
            target_position: str = "start") -> None:
        bdir = work / f"bundle-{name}"
        if not (bdir / "meta.json").is_file():
            rows, mon = (dev_split(train, 0.1)[0], []) if twin else (train, val)
            t0 = time.perf_counter()
            train_and_export(rows, mon, LABELS, tok_path, CFG.max_len, replace(awd, backward=backward), tcfg,
                             work / f"clf-{name}", bdir, name, {"variant": name}, encoder_state=state,
                             progress=False, device=dev, target_position=target_position)
            log.info("%s trained in %.0f s", name, time.perf_counter() - t0)
        if not twin:
            rep = _summary(evaluate_bundle(bdir, evals, precision="fp32"))
            (out / f"eval-{name}.json").write_text(json.dumps(rep, indent=1))
            log.info("%s: %s", name, {k: v["f_avg"] for k, v in rep.items()})

    def political_lm(name: str, backward: bool) -> dict:
        political = list(pipe.leaks.texts(data.political()))
        stance_texts = [e.text for e in train]
        r = pipe.lm_stage(name, stance_texts + political, tok, CFG.lm_bwd, v1, backward=backward)
        (out / f"lm-{name}.json").write_text(json.dumps({"history": r["history"], "tokens": r["tokens"],
                                                          "seconds": r["seconds"]}))
        return r

    j = a.job
    if j == "lm1":
        lm_texts, _ = pipe.corpora()
        r = pipe.lm_stage("lm1", lm_texts, tok, CFG.lm1, None)
        torch.save({**r, "model": {k: v.half() for k, v in r["model"].items()}}, out / "lm1-fp16.pt")
        (out / "lm1.json").write_text(json.dumps({"history": r["history"], "tokens": r["tokens"],
                                                  "seconds": r["seconds"]}))
    elif j == "lm2":  # the full ULMFiT chain again, from this run's stage 1
        wait_for(out / "lm1-fp16.pt")
        lm1 = torch.load(out / "lm1-fp16.pt", weights_only=False)
        lm1 = {**lm1, "model": {k: v.float() for k, v in lm1["model"].items()}}
        _, stance_texts = pipe.corpora()
        r = pipe.lm_stage("lm2", stance_texts, tok, CFG.lm2, lm1)
        (out / "lm2.json").write_text(json.dumps({"history": r["history"], "tokens": r["tokens"],
                                                  "seconds": r["seconds"]}))
        clf("ulmfit_rerun", enc(r))
    elif j == "notweet":
        wait_for(out / "lm1-fp16.pt")
        clf("no_tweet_lm_finetuning", enc(torch.load(out / "lm1-fp16.pt", weights_only=False)))
    elif j == "nopre":
        clf("no_lm_pretraining", None, replace(CFG.clf, gradual_unfreezing=False))
    elif j == "nogu":
        clf("no_gradual_unfreezing", enc(v1), replace(CFG.clf, gradual_unfreezing=False))
    elif j == "nogu-member":  # a member for the ensemble: LM v1, no gradual unfreezing
        clf("nogu-member", enc(v1), replace(CFG.clf, gradual_unfreezing=False))
    elif j == "nogu-twin":
        clf("nogu-twin", enc(v1), replace(CFG.clf, gradual_unfreezing=False), twin=True)
    elif j.startswith("suffix-"):  # the target marker at the end of the input instead of the start
        from models.text import Tokenizer as T

        def encode(self, text: str, target: str) -> list[int]:
            prefix = self._prefix(target)
            body = self.sp.encode(normalise(text))
            return [prefix[0], *body[: max(1, self.max_len - len(prefix))], *prefix[1:]]

        def encode_batch(self, texts, targets):
            return pad([encode(self, t, g) for t, g in zip(texts, targets, strict=True)])

        T.encode, T.encode_batch = encode, encode_batch
        seed = int(j.split("-")[1])
        clf(f"suffix-s{seed}", enc(v1), replace(CFG.clf, seed=seed))
    elif j.startswith("both-"):  # the product option: the target marker before and after the tweet
        seed = int(j.split("-")[1])
        clf(f"both-s{seed}", enc(v1), replace(CFG.clf, seed=seed), target_position="both")
    elif j == "fwdtwin":
        clf("fwd-dev", enc(v1), twin=True)
    elif j in ("fwdpol", "bwd"):
        r = political_lm(f"lm-{j}", backward=j == "bwd")
        torch.save({"model": {k: v.half() for k, v in r["model"].items()}}, work / f"{j}-enc.pt")
    elif j.startswith("seed-"):  # seed-VARIANT-N: the same classifier with another seed, for the noise band
        _, variant, n = j.split("-")
        seed = int(n)
        if variant == "fwd":
            clf(f"ulmfit-s{seed}", enc(v1), replace(CFG.clf, seed=seed))
        elif variant == "rerun":
            lm1 = torch.load(LM1, weights_only=False)
            lm1 = {**lm1, "model": {k: v.float() for k, v in lm1["model"].items()}}
            _, stance_texts = pipe.corpora()
            clf(f"ulmfit_rerun-s{seed}", enc(pipe.lm_stage("lm2", stance_texts, tok, CFG.lm2, lm1)),
                replace(CFG.clf, seed=seed))
        elif variant == "notweet":
            clf(f"no_tweet_lm_finetuning-s{seed}", enc(torch.load(LM1, weights_only=False)),
                replace(CFG.clf, seed=seed))
        elif variant == "nogu":
            clf(f"no_gradual_unfreezing-s{seed}", enc(v1), replace(CFG.clf, gradual_unfreezing=False, seed=seed))
        elif variant == "nopre":
            clf(f"no_lm_pretraining-s{seed}", None, replace(CFG.clf, gradual_unfreezing=False, seed=seed))
    elif j.endswith("-clf") or j.endswith("-twin"):
        base = j.split("-")[0]
        wait_for(work / f"{base}-enc.pt")
        state = enc(torch.load(work / f"{base}-enc.pt", weights_only=False))
        clf(j, state, backward=base == "bwd", twin=j.endswith("-twin"))
    else:
        raise SystemExit(f"unknown job {j}")


if __name__ == "__main__":
    main()
