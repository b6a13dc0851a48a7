"""Write the bundled sample corpus (``assets/sample/{train,dev,test}``) in BRAT standoff.

The case notes are synthetic: templates and vocabulary written for this project, filled in
with a fixed random seed, so the corpus is reproducible and free of patient data. Offsets are
computed while the text is assembled, so they are exact by construction (including the CRLF
files and the file that starts with a byte-order mark).

    python assets/make_sample_corpus.py            # rewrites assets/sample/
"""
from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

SEED = 20261122
SPLITS = {"train": 60, "dev": 15, "test": 15}
OUT = Path(__file__).parent / "sample"

# An entity value is its text plus (label, substring) pairs for entities nested inside it.
Value = Tuple[str, Sequence[Tuple[str, str]]]


def v(text: str, *nested: Tuple[str, str]) -> Value:
    return text, nested


ENFERMEDAD = [
    v("hipertensión arterial"), v("diabetes mellitus tipo 2"), v("insuficiencia cardiaca"),
    v("neumonía adquirida en la comunidad"), v("carcinoma ductal infiltrante de mama", ("ANATOMIA", "mama")),
    v("adenocarcinoma de colon", ("ANATOMIA", "colon")), v("cáncer de pulmón", ("ANATOMIA", "pulmón")),
    v("fibrilación auricular"), v("enfermedad renal crónica"), v("hipotiroidismo"), v("EPOC"),
    v("asma bronquial"), v("apendicitis aguda"), v("colecistitis aguda"), v("pielonefritis aguda"),
    v("infección del tracto urinario"), v("anemia ferropénica"), v("artritis reumatoide"),
    v("cirrosis hepática"), v("hepatitis C"), v("melanoma"), v("linfoma no Hodgkin"), v("ictus isquémico"),
    v("trombosis venosa profunda"), v("fractura de cadera", ("ANATOMIA", "cadera")), v("úlcera gástrica"),
    v("pancreatitis aguda"), v("dislipemia"), v("obesidad mórbida"), v("osteoporosis"),
    v("carcinoma de próstata", ("ANATOMIA", "próstata")), v("gastritis crónica"),
    v("tumor de vejiga", ("ANATOMIA", "vejiga")), v("hipertiroidismo"), v("insuficiencia respiratoria"),
]
SINTOMA = [
    v("dolor abdominal"), v("fiebre"), v("disnea"), v("tos productiva"), v("cefalea"), v("náuseas"),
    v("vómitos"), v("astenia"), v("pérdida de peso"), v("dolor en fosa ilíaca derecha", ("ANATOMIA", "fosa ilíaca derecha")),
    v("edemas en miembros inferiores", ("ANATOMIA", "miembros inferiores")), v("mareo"), v("síncope"),
    v("palpitaciones"), v("diarrea"), v("hematuria"), v("disuria"), v("prurito"), v("dolor lumbar"),
    v("sudoración nocturna"), v("dolor en hipocondrio derecho", ("ANATOMIA", "hipocondrio derecho")),
    v("tumoración en mama izquierda", ("ANATOMIA", "mama izquierda")), v("adenopatías cervicales"),
    v("dolor torácico opresivo"), v("expectoración hemoptoica"), v("ictericia"), v("anorexia"),
    v("dolor en rodilla derecha", ("ANATOMIA", "rodilla derecha")), v("rectorragia"), v("poliuria"),
]
FARMACO = [
    v("paracetamol"), v("ibuprofeno"), v("metformina"), v("enalapril"), v("omeprazol"),
    v("amoxicilina-ácido clavulánico"), v("furosemida"), v("atorvastatina"), v("insulina glargina"),
    v("levotiroxina"), v("salbutamol"), v("prednisona"), v("ceftriaxona"), v("enoxaparina"),
    v("acenocumarol"), v("tamoxifeno"), v("cisplatino"), v("metamizol"), v("tramadol"), v("bisoprolol"),
    v("levofloxacino"), v("sertralina"), v("alopurinol"), v("clopidogrel"), v("losartán"),
]
PROCEDIMIENTO = [
    v("radiografía de tórax", ("ANATOMIA", "tórax")), v("TC abdominal"), v("ecografía abdominal"),
    v("colonoscopia"), v("biopsia de mama", ("ANATOMIA", "mama")), v("electrocardiograma"),
    v("analítica sanguínea"), v("resonancia magnética cerebral"), v("mastectomía radical"),
    v("apendicectomía laparoscópica"), v("colecistectomía"), v("hemocultivos"), v("gammagrafía ósea"),
    v("broncoscopia"), v("ecocardiograma transtorácico"), v("cateterismo cardiaco"), v("punción lumbar"),
    v("TC de abdomen", ("ANATOMIA", "abdomen")), v("endoscopia digestiva alta"),
    v("biopsia de próstata", ("ANATOMIA", "próstata")), v("urocultivo"), v("espirometría"),
]
ANATOMIA = [v("abdomen"), v("hemitórax derecho"), v("rodilla izquierda"), v("región lumbar"),
            v("mama derecha"), v("cuello"), v("fosa renal izquierda"), v("base pulmonar derecha")]
LEXICON = {"ENFERMEDAD": ENFERMEDAD, "SINTOMA": SINTOMA, "FARMACO": FARMACO,
           "PROCEDIMIENTO": PROCEDIMIENTO, "ANATOMIA": ANATOMIA}

# Templates: {LABEL} is an entity slot; {dose}, {age}, {days}, {sex}, {value} are plain fillers.
SECTIONS: List[List[str]] = [
    [
        "{sex} de {age} años con antecedentes de {ENFERMEDAD} y {ENFERMEDAD}.",
        "{sex} de {age} años, sin alergias medicamentosas conocidas, con antecedentes personales de {ENFERMEDAD}.",
        "Paciente de {age} años con {ENFERMEDAD} en seguimiento por su médico de atención primaria.",
        "Antecedentes: {ENFERMEDAD}, {ENFERMEDAD} y {ENFERMEDAD}.",
    ],
    [
        "Tratamiento habitual: {FARMACO} {dose} y {FARMACO} {dose}.",
        "En tratamiento con {FARMACO} {dose}.",
        "Sigue tto. con {FARMACO} y {FARMACO} desde hace años.",
    ],
    [
        "Acude a Urgencias por {SINTOMA} de {days} días de evolución.",
        "Consulta por {SINTOMA} y {SINTOMA} desde hace {days} días.",
        "Refiere {SINTOMA} acompañado de {SINTOMA}.",
        "Ingresa por cuadro de {SINTOMA}, {SINTOMA} y {SINTOMA}.",
    ],
    [
        "Niega {SINTOMA} ni {SINTOMA}.",
        "No presenta {SINTOMA}.",
        "A la exploración destaca dolor a la palpación en {ANATOMIA}.",
        "Exploración física: buen estado general, afebril, sin hallazgos en {ANATOMIA}.",
    ],
    [
        "Se realiza {PROCEDIMIENTO} que muestra hallazgos compatibles con {ENFERMEDAD}.",
        "Se solicitan {PROCEDIMIENTO} y {PROCEDIMIENTO}.",
        "En la {PROCEDIMIENTO} se objetiva una lesión en {ANATOMIA}.",
        "La {PROCEDIMIENTO} resultó normal. Hemoglobina {value} g/dL.",
    ],
    [
        "Con el diagnóstico de {ENFERMEDAD} se inicia {FARMACO} {dose}.",
        "Juicio clínico: {ENFERMEDAD}.",
        "Se pauta {FARMACO} {dose} y se programa {PROCEDIMIENTO}.",
        "Se decide {PROCEDIMIENTO} urgente ante la sospecha de {ENFERMEDAD}.",
    ],
    [
        "Evolución favorable, con desaparición de {SINTOMA}.",
        "Al alta persiste {SINTOMA} leve. Se mantiene {FARMACO}.",
        "Es dado de alta con {FARMACO} {dose} y control en consultas externas.",
        "Durante el ingreso presenta {SINTOMA}, que cede con {FARMACO}.",
    ],
]
DOSES = ["1 g/8 h", "500 mg/12 h", "20 mg/día", "40 mg cada 24 h", "850 mg/12 h", "10 mg/día", "100 mcg/día",
         "2 inhalaciones/8 h", "75 mg/día", "5 mg"]
# A discontinuous entity (fragments with a real gap), used in a few documents.
DISCONTINUOUS_SENTENCE = ("Refiere ", ("SINTOMA", "dolor"), " de tipo cólico ", ("SINTOMA", "en hipocondrio derecho"), ".")


class Builder:
    """Assembles a text and its BRAT annotations, with offsets exact by construction."""

    def __init__(self, newline: str, bom: bool) -> None:
        self.text = "\ufeff" if bom else ""
        self.newline = newline
        self.lines: List[str] = []
        self.next_t = 1

    def add_text(self, text: str) -> None:
        self.text += text

    def add_entity(self, label: str, value: Value) -> None:
        text, nested = value
        start = len(self.text)
        self.text += text
        self._t_line(label, [(start, start + len(text))])
        for inner_label, inner in nested:
            inner_start = start + text.index(inner)
            self._t_line(inner_label, [(inner_start, inner_start + len(inner))])

    def add_discontinuous(self, pieces: Sequence[Union[str, Tuple[str, str]]]) -> None:
        fragments, label = [], ""
        for piece in pieces:
            if isinstance(piece, tuple):
                label = piece[0]
                fragments.append((len(self.text), len(self.text) + len(piece[1])))
                self.text += piece[1]
            else:
                self.text += piece
        self._t_line(label, fragments)

    def _t_line(self, label: str, fragments: List[Tuple[int, int]]) -> None:
        offsets = ";".join(f"{s} {e}" for s, e in fragments)
        surface = " ".join(self.text[s:e] for s, e in fragments)
        self.lines.append(f"T{self.next_t}\t{label} {offsets}\t{surface}")
        self.next_t += 1


@dataclass
class Language:
    """What a language's notes are made of."""

    lexicon: Dict[str, List[Value]]
    sections: List[List[str]]
    doses: List[str]
    sexes: Tuple[str, str]
    heading: str
    discontinuous_sentence: Tuple[Union[str, Tuple[str, str]], ...]


def fill(builder: Builder, template: str, rng: random.Random, language: "Language") -> None:
    fillers = {"dose": lambda: rng.choice(language.doses), "age": lambda: str(rng.randint(18, 92)),
               "days": lambda: str(rng.randint(2, 15)), "sex": lambda: rng.choice(list(language.sexes)),
               "value": lambda: f"{rng.randint(8, 15)},{rng.randint(0, 9)}"}
    rest = template
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        builder.add_text(before)
        if name in language.lexicon:
            builder.add_entity(name, rng.choice(language.lexicon[name]))
        else:
            builder.add_text(fillers[name]())
    builder.add_text(rest)


def make_document(rng: random.Random, newline: str, bom: bool, discontinuous: bool, language: Language) -> Builder:
    builder = Builder(newline, bom)
    builder.add_text(language.heading + newline)
    for number, section in enumerate(language.sections):
        for _ in range(rng.choice([1, 1, 2])):
            fill(builder, rng.choice(section), rng, language)
            builder.add_text(" ")
        if number == 2 and discontinuous:
            builder.add_discontinuous(language.discontinuous_sentence)
            builder.add_text(" ")
        if number in (1, 4):
            builder.text = builder.text.rstrip(" ") + newline + newline
    builder.text = builder.text.rstrip(" ") + newline
    return builder


SPANISH = Language(LEXICON, SECTIONS, DOSES, ("Mujer", "Varón"), "Anamnesis", DISCONTINUOUS_SENTENCE)


def write_corpus(out: Path, splits: Dict[str, int], seed: int, language: Language, prefix: str = "caso") -> None:
    """Write ``splits`` documents of ``language`` under ``out/<split>/`` (the folder is replaced)."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    for split, count in splits.items():
        folder = out / split
        folder.mkdir(parents=True)
        for index in range(count):
            crlf = index % 20 == 7          # a few Windows files whose offsets count the \r
            bom = split == "train" and index == 3 or split == "test" and index == 2
            discontinuous = index % 12 == 5
            doc = make_document(rng, "\r\n" if crlf else "\n", bom, discontinuous, language)
            name = f"{prefix}_{split}_{index + 1:03d}"
            (folder / f"{name}.txt").write_bytes(doc.text.encode("utf-8"))
            ann = doc.lines[:]
            if index % 10 == 4:  # annotator notes and an attribute, which the converter counts
                ann.append("#1\tAnnotatorNotes T1\trevisado")
                ann.append("A1\tNegated T2")
            (folder / f"{name}.ann").write_bytes(("\n".join(ann) + "\n").encode("utf-8"))
    print(f"wrote {sum(splits.values())} documents to {out}")


if __name__ == "__main__":
    write_corpus(OUT, SPLITS, SEED, SPANISH)
