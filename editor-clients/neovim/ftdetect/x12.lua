-- X12 claim files: by extension (.x12 .edi .837 .837p .837i .837d) and by content
-- ("ISA" + delimiter at the start, so .txt / .dat / extension-less claims are found too).
require("medcode.filetype").register()
