# A Poisson workload in prefix groups (BLIS TraceV2): each request joins one of G groups at random and prepends the
# group's P-token prefix to its own log-normal prompt. BLIS's input_tokens column is the request's own part; the case
# CSV holds the whole prompt (prefix + own) and the group, as our trace columns do.
import random, math, sys
seed=int(sys.argv[1]); n=int(sys.argv[2]); rate=float(sys.argv[3]); med_in=float(sys.argv[4]); med_out=float(sys.argv[5])
groups=int(sys.argv[6]); prefix=int(sys.argv[7]); out=sys.argv[8]
random.seed(seed)
t=0.0
rows=[]
for i in range(n):
    t+=random.expovariate(rate)
    us=int(t*1e6)
    own=max(1,int(round(med_in*math.exp(random.gauss(0,1.0)))))
    outp=max(1,int(round(med_out*math.exp(random.gauss(0,0.8)))))
    own=min(own,4000); outp=min(outp,2000)
    g=random.randrange(groups)
    rows.append((us,own,outp,g))
cols=["request_id","client_id","tenant_id","slo_class","session_id","round_index","prefix_group","prefix_length","streaming","input_tokens","output_tokens","text_tokens","image_tokens","audio_tokens","video_tokens","reason_ratio","model","deadline_us","server_input_tokens","arrival_time_us","send_time_us","first_chunk_time_us","last_chunk_time_us","num_chunks","status","error_message","finish_reason"]
with open(out+'.csv','w') as f:
    f.write(','.join(cols)+'\n')
    for i,(us,a,b,g) in enumerate(rows):
        f.write(f"{i},c0,,,,0,g{g},{prefix},true,{a},{b},{a},0,0,0,0,,0,{a},{us},{us},0,0,0,ok,,\n")
open(out+'.yaml','w').write("trace_version: 2\ntime_unit: us\nmode: real\nwarm_up_requests: 0\n")
with open(out+'.groups','w') as f:
    for us,a,b,g in rows:
        f.write(f"{us},{a+prefix},{b},g{g},{prefix}\n")
