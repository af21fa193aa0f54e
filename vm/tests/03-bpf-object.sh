# The compiled bpf/ objects are present and are ELF files for machine BPF.
. /fluffle/tests-lib.sh
obj=/fluffle/bpf/hello.o
[ -f $obj ] || fail "$obj missing"
expect_eq "ELF magic" "$(od -A n -t x1 -N 4 $obj | tr -d ' ')" "7f454c46"
# e_machine (offset 18, little-endian u16) is EM_BPF = 247.
expect_eq "e_machine" "$(od -A n -t u2 -j 18 -N 2 $obj | tr -d ' ')" "247"
echo "hello.o is an eBPF ELF object"
