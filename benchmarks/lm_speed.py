"""Training and inference speed of a character LSTM LM (Flair's LanguageModel shape) by hidden size.

    python benchmarks/lm_speed.py [--threads 1] [--hidden 256 512 1024] [--seconds 8]

Training: batches of 32 sequences x 250 characters, forward + backward + SGD step; inference: 64 x 400
characters without gradients. Prints characters per second for each hidden size.
"""
import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from spacy_clinical_flair.models.build import build_language_model, character_dictionary

    dictionary = character_dictionary()
    print("| hidden | parameters | training characters/s | inference characters/s |\n|---|---|---|---|")
    for hidden in args.hidden:
        lm = build_language_model(dictionary, True, hidden_size=hidden)
        optimizer = torch.optim.SGD(lm.parameters(), lr=1.0)
        x = torch.randint(0, len(dictionary), (250, 32))
        hidden_state = lm.init_hidden(32)
        start, steps = time.perf_counter(), 0
        while time.perf_counter() - start < args.seconds:
            output, _, _ = lm(x, hidden_state)
            loss = torch.nn.functional.cross_entropy(output.view(-1, len(dictionary)), x.view(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            steps += 1
        train = steps * 250 * 32 / (time.perf_counter() - start)
        lm.eval()
        with torch.inference_mode():
            x = torch.randint(0, len(dictionary), (400, 64))
            hidden_state = lm.init_hidden(64)
            start, steps = time.perf_counter(), 0
            while time.perf_counter() - start < args.seconds / 2:
                lm(x, hidden_state, decode=False)
                steps += 1
            infer = steps * 400 * 64 / (time.perf_counter() - start)
        print(f"| {hidden} | {sum(p.numel() for p in lm.parameters()):,} | {train:,.0f} | {infer:,.0f} |")


if __name__ == "__main__":
    main()
