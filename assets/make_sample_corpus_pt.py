"""Write the small Portuguese sample corpus (``assets/sample_pt/{train,dev,test}``) in BRAT standoff.

Synthetic Brazilian Portuguese clinical notes, built like the Spanish sample (``make_sample_corpus.py``:
offsets exact by construction, nested ANATOMIA entities, a discontinuous entity, CRLF files, a byte-order
mark), with Portuguese templates, vocabulary and labels. No text comes from any dataset or patient.

    python assets/make_sample_corpus_pt.py            # rewrites assets/sample_pt/
"""
from __future__ import annotations

from pathlib import Path

from make_sample_corpus import Language, v, write_corpus

SEED = 20261124
SPLITS = {"train": 30, "dev": 8, "test": 8}
OUT = Path(__file__).parent / "sample_pt"

DOENCA = [
    v("hipertensão arterial sistêmica"), v("diabetes mellitus tipo 2"), v("insuficiência cardíaca congestiva"),
    v("pneumonia adquirida na comunidade"), v("carcinoma ductal invasivo de mama", ("ANATOMIA", "mama")),
    v("adenocarcinoma de cólon", ("ANATOMIA", "cólon")), v("câncer de pulmão", ("ANATOMIA", "pulmão")),
    v("fibrilação atrial"), v("doença renal crônica"), v("hipotireoidismo"), v("DPOC"), v("asma"),
    v("apendicite aguda"), v("infecção do trato urinário"), v("anemia ferropriva"), v("cirrose hepática"),
    v("acidente vascular cerebral isquêmico"), v("trombose venosa profunda"),
    v("fratura de fêmur", ("ANATOMIA", "fêmur")), v("úlcera gástrica"), v("pancreatite aguda"), v("dislipidemia"),
]
SINTOMA = [
    v("dor abdominal"), v("febre"), v("dispneia"), v("tosse produtiva"), v("cefaleia"), v("náuseas"),
    v("vômitos"), v("astenia"), v("perda de peso"), v("dor em fossa ilíaca direita", ("ANATOMIA", "fossa ilíaca direita")),
    v("edema em membros inferiores", ("ANATOMIA", "membros inferiores")), v("tontura"), v("síncope"),
    v("palpitações"), v("diarreia"), v("hematúria"), v("disúria"), v("dor lombar"), v("icterícia"),
    v("dor torácica"), v("dor em joelho direito", ("ANATOMIA", "joelho direito")),
]
MEDICAMENTO = [
    v("paracetamol"), v("dipirona"), v("metformina"), v("enalapril"), v("omeprazol"), v("amoxicilina"),
    v("furosemida"), v("sinvastatina"), v("insulina NPH"), v("levotiroxina"), v("salbutamol"), v("prednisona"),
    v("ceftriaxona"), v("enoxaparina"), v("varfarina"), v("tamoxifeno"), v("losartana"), v("tramadol"),
]
PROCEDIMENTO = [
    v("radiografia de tórax", ("ANATOMIA", "tórax")), v("tomografia computadorizada de abdome", ("ANATOMIA", "abdome")),
    v("ultrassonografia abdominal"), v("colonoscopia"), v("biópsia de mama", ("ANATOMIA", "mama")),
    v("eletrocardiograma"), v("hemograma completo"), v("ressonância magnética de crânio", ("ANATOMIA", "crânio")),
    v("mastectomia radical"), v("apendicectomia videolaparoscópica"), v("colecistectomia"), v("hemoculturas"),
    v("broncoscopia"), v("ecocardiograma transtorácico"), v("cateterismo cardíaco"), v("endoscopia digestiva alta"),
    v("urocultura"), v("espirometria"),
]
ANATOMIA = [v("abdome"), v("hemitórax direito"), v("joelho esquerdo"), v("região lombar"), v("mama direita"),
            v("pescoço"), v("fossa renal esquerda"), v("base pulmonar direita")]

SECTIONS = [
    [
        "{sex} de {age} anos com antecedentes de {DOENCA} e {DOENCA}.",
        "Paciente de {age} anos, sem alergias medicamentosas conhecidas, com história de {DOENCA}.",
        "Antecedentes: {DOENCA}, {DOENCA} e {DOENCA}.",
    ],
    [
        "Em uso de {MEDICAMENTO} {dose} e {MEDICAMENTO} {dose}.",
        "Faz uso contínuo de {MEDICAMENTO} {dose}.",
    ],
    [
        "Procura o pronto-socorro por {SINTOMA} há {days} dias.",
        "Refere {SINTOMA} e {SINTOMA} há {days} dias.",
        "Internado por quadro de {SINTOMA}, {SINTOMA} e {SINTOMA}.",
    ],
    [
        "Nega {SINTOMA} e {SINTOMA}.",
        "Ao exame físico, dor à palpação em {ANATOMIA}.",
        "Exame físico: bom estado geral, afebril, sem alterações em {ANATOMIA}.",
    ],
    [
        "Realizada {PROCEDIMENTO} com achados compatíveis com {DOENCA}.",
        "Solicitados {PROCEDIMENTO} e {PROCEDIMENTO}.",
        "A {PROCEDIMENTO} evidenciou lesão em {ANATOMIA}. Hemoglobina {value} g/dL.",
    ],
    [
        "Com o diagnóstico de {DOENCA}, iniciado {MEDICAMENTO} {dose}.",
        "Hipótese diagnóstica: {DOENCA}.",
        "Prescrito {MEDICAMENTO} {dose} e programada {PROCEDIMENTO}.",
    ],
    [
        "Evolução favorável, com melhora de {SINTOMA}.",
        "Recebe alta com {MEDICAMENTO} {dose} e retorno ambulatorial.",
        "Durante a internação apresentou {SINTOMA}, que cedeu com {MEDICAMENTO}.",
    ],
]
DOSES = ["1 g de 8/8 h", "500 mg de 12/12 h", "20 mg/dia", "40 mg 1x/dia", "850 mg de 12/12 h", "10 mg/dia",
         "100 mcg/dia", "5 mg"]
DISCONTINUOUS_SENTENCE = ("Refere ", ("SINTOMA", "dor"), " em cólica ", ("SINTOMA", "no hipocôndrio direito"), ".")
PORTUGUESE = Language({"DOENCA": DOENCA, "SINTOMA": SINTOMA, "MEDICAMENTO": MEDICAMENTO,
                       "PROCEDIMENTO": PROCEDIMENTO, "ANATOMIA": ANATOMIA},
                      SECTIONS, DOSES, ("Mulher", "Homem"), "Anamnese", DISCONTINUOUS_SENTENCE)

if __name__ == "__main__":
    write_corpus(OUT, SPLITS, SEED, PORTUGUESE, prefix="caso")
