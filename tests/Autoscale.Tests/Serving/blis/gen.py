# A Poisson workload with log-normal tokens as a BLIS TraceV2 (NAME.csv + NAME.yaml) and as JSON Lines.
# usage: gen.py SEED N RATE MEDIAN_IN MEDIAN_OUT OUT [GROUPS PREFIX]
# With GROUPS and PREFIX: each request joins one of GROUPS prefix groups at random and BLIS prepends the group's
# PREFIX-token prefix to its own prompt (its input_tokens column is the own part); OUT.groups then lists each request's
# arrival, whole prompt (prefix + own), output, group and prefix, as our trace columns hold them.
import random, math, sys, json
seed=int(sys.argv[1]); n=int(sys.argv[2]); rate=float(sys.argv[3]); med_in=float(sys.argv[4]); med_out=float(sys.argv[5]); out=sys.argv[6]
groups=int(sys.argv[7]) if len(sys.argv) > 7 else 0; prefix=int(sys.argv[8]) if len(sys.argv) > 8 else 0
random.seed(seed)
t=0.0
rows=[]
for i in range(n):
    t+=random.expovariate(rate)
    us=int(t*1e6)
    inp=max(1,int(round(med_in*math.exp(random.gauss(0,1.0)))))
    outp=max(1,int(round(med_out*math.exp(random.gauss(0,0.8)))))
    if groups:
        inp=min(inp,4000); outp=min(outp,2000)
        rows.append((us,inp,outp,random.randrange(groups)))
    else:
        inp=min(inp,8000); outp=min(outp,4000)
        rows.append((us,inp,outp,None))
cols=["request_id","client_id","tenant_id","slo_class","session_id","round_index","prefix_group","prefix_length","streaming","input_tokens","output_tokens","text_tokens","image_tokens","audio_tokens","video_tokens","reason_ratio","model","deadline_us","server_input_tokens","arrival_time_us","send_time_us","first_chunk_time_us","last_chunk_time_us","num_chunks","status","error_message","finish_reason"]
with open(out+'.csv','w') as f:
    f.write(','.join(cols)+'\n')
    for i,(us,a,b,g) in enumerate(rows):
        group, length = (f"g{g}", prefix) if g is not None else ("", 0)
        f.write(f"{i},c0,,,,0,{group},{length},true,{a},{b},{a},0,0,0,0,,0,{a},{us},{us},0,0,0,ok,,\n")
open(out+'.yaml','w').write("trace_version: 2\ntime_unit: us\nmode: real\nwarm_up_requests: 0\n")
if groups:
    with open(out+'.groups','w') as f:
        for us,a,b,g in rows:
            f.write(f"{us},{a+prefix},{b},g{g},{prefix}\n")
else:
    with open(out+'.jsonl','w') as f:
        for us,a,b,_ in rows:
            # timestamps as ISO with microseconds from a fixed epoch
            f.write(json.dumps({"timestamp": 1700000000_000000+us, "input_tokens": a, "output_tokens": b})+'\n')
