set -uo pipefail
cd "$(dirname "$0")"
out=${OUT:-/tmp/diagout}; mkdir -p $out /tmp/rec
export PYTHONUNBUFFERED=1
python gpu_diag.py make /tmp/rec > $out/make.txt 2>&1; tail -1 $out/make.txt
R=/tmp/rec/${SIZE:-bert-base}.yaml
python gpu_diag.py bare $R 1 > $out/bare.txt 2>&1; grep RESULT $out/bare.txt
python gpu_diag.py ftk $R fp32 1 0 > $out/ftk-fp32-nb1.txt 2>&1; grep RESULT $out/ftk-fp32-nb1.txt
python gpu_diag.py ftk $R bf16 0 1 > $out/ftk-bf16-nb0.txt 2>&1; grep RESULT $out/ftk-bf16-nb0.txt
python gpu_diag.py ftk $R bf16 1 0 > $out/ftk-bf16-nb1.txt 2>&1; grep RESULT $out/ftk-bf16-nb1.txt
python gpu_diag.py ftk $R fp32 0 0 > $out/ftk-fp32-nb0.txt 2>&1; grep RESULT $out/ftk-fp32-nb0.txt
